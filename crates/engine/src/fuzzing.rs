//! Fuzzing harnesses, shared by the cargo-fuzz targets in `fuzz/` and by a bounded smoke test
//! that CI runs on every change. Each takes arbitrary bytes and must never panic.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use crate::clock::Clock;
use crate::identity::{DEFAULT_IDENTITIES, IdentitySet};
use crate::kms::wire::{OPERATIONS, dispatch};
use crate::kms::{Call, Kms};
use crate::s3::{blocked, sse_c};
use crate::sigv4::{
    AuthError, AuthorizationHeader, ReceivedRequest, canonical_request, check_scope,
    format_amz_date, verify, verify_signature,
};
use keylab_policy::{
    Caller, ContextKeys, Policies, PolicyDocument, PolicyKind, Request, ResourceRules, decide,
};

/// Parses the bytes as a policy of both kinds and evaluates whatever parses.
pub fn policy_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let caller = Caller {
        arn: "arn:aws:sts::111122223333:assumed-role/Analyst/s".into(),
        principal_arn: "arn:aws:iam::111122223333:role/Analyst".into(),
        account: "111122223333".into(),
    };
    let mut context = ContextKeys::new();
    context.set("aws:SecureTransport", "false");
    context.set("s3:TlsVersion", "1.2");
    context.set("aws:SourceIp", "127.0.0.1");
    context.set("aws:CurrentTime", "2026-11-23T00:00:00Z");
    context.set_many("kms:EncryptionContextKeys", vec!["a".into(), "b".into()]);
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Resource,
        PolicyKind::Trust,
    ] {
        let Ok(doc) = PolicyDocument::parse(text, kind) else {
            continue;
        };
        for rules in [
            ResourceRules::Kms,
            ResourceRules::Standard,
            ResourceRules::RoleTrust,
        ] {
            let (identity, resource) = match kind {
                PolicyKind::Identity => (vec![("fuzz".to_string(), &doc)], None),
                PolicyKind::Resource | PolicyKind::Trust => {
                    (vec![], Some(("fuzz".to_string(), &doc)))
                }
            };
            let policies = Policies {
                identity,
                resource,
                rules,
                grants: vec![],
            };
            for account in ["111122223333", "444455556666"] {
                let req = Request {
                    caller: &caller,
                    action: "kms:Decrypt",
                    resource: "arn:aws:kms:us-east-1:111122223333:key/k",
                    resource_account: account,
                    context: &context,
                };
                let decision = decide(&req, &policies);
                let _ = decision.message();
                let _ = decision.to_string();
            }
        }
    }
}

fn fuzz_kms() -> &'static (Kms, Arc<IdentitySet>) {
    static KMS: OnceLock<(Kms, Arc<IdentitySet>)> = OnceLock::new();
    KMS.get_or_init(|| {
        let identities = Arc::new(
            IdentitySet::parse(DEFAULT_IDENTITIES, "default", None).expect("default identities"),
        );
        let kms = Kms::open(
            "us-east-1",
            None,
            identities.clone(),
            Arc::new(Clock::default()),
        )
        .expect("in-memory kms");
        let admin = identities.by_profile("owner-admin").expect("owner-admin");
        let mut call = Call::new(admin, true);
        let created = dispatch(&kms, &mut call, "CreateKey", b"{}").expect("create key");
        let id = serde_json::from_slice::<serde_json::Value>(&created)
            .ok()
            .and_then(|v| v["KeyMetadata"]["KeyId"].as_str().map(String::from));
        if let Some(id) = id {
            let body = format!(r#"{{"AliasName":"alias/fuzz","TargetKeyId":"{id}"}}"#);
            let _ = dispatch(
                &kms,
                &mut Call::new(admin, true),
                "CreateAlias",
                body.as_bytes(),
            );
        }
        (kms, identities)
    })
}

/// Sends the bytes as the JSON body of a KMS operation chosen by the first byte, as one of
/// the lab identities chosen by the second.
pub fn kms_request(data: &[u8]) {
    let [op, who, body @ ..] = data else { return };
    let (kms, identities) = fuzz_kms();
    let operation = OPERATIONS[*op as usize % OPERATIONS.len()];
    if matches!(operation, "CreateKey" | "CreateGrant") && kms.key_summaries().len() > 64 {
        return;
    }
    let all = identities.identities();
    let identity = &all[*who as usize % all.len()];
    let mut call = Call::new(identity, who & 0x80 != 0);
    let _ = dispatch(kms, &mut call, operation, body);
}

/// Treats the bytes as an `Authorization` header, an `X-Amz-Date` and a body, and verifies
/// the signature.
pub fn sigv4_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (auth, date, body) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let mut headers = http::HeaderMap::new();
    let (Ok(auth), Ok(date)) = (
        http::HeaderValue::from_str(auth),
        http::HeaderValue::from_str(date),
    ) else {
        return;
    };
    headers.insert(http::header::AUTHORIZATION, auth);
    headers.insert("x-amz-date", date);
    headers.insert("host", http::HeaderValue::from_static("127.0.0.1"));
    let req = ReceivedRequest {
        method: "POST",
        path: "/a%2Fb/%zz",
        query: "b=1&a=%41&c",
        headers: &headers,
        body: body.as_bytes(),
    };
    if let Ok(parsed) = AuthorizationHeader::from_headers(&headers) {
        let _ = verify(
            &req,
            &parsed,
            "secret",
            "us-east-1",
            "kms",
            SystemTime::now(),
        );
        let _ = verify(
            &req,
            &parsed,
            "secret",
            "us-east-1",
            "s3",
            SystemTime::now(),
        );
    }
}

/// Parses the bytes as a PutBucketEncryption body, renders what parses, and feeds the first
/// lines to the SSE-C header validation (over HTTPS and HTTP).
pub fn s3_request(data: &[u8]) {
    if let Ok(config) = blocked::parse(data) {
        let _ = blocked::render(&config.default, config.blocked.is_some());
    }
    let text = String::from_utf8_lossy(data);
    if let Some(host) = text.lines().next() {
        use s3s::host::S3Host as _;
        let _ = crate::s3::host::LoopbackHost.parse_host_header(host);
    }
    let mut lines = text.lines();
    let (algorithm, key, md5, sse) = (lines.next(), lines.next(), lines.next(), lines.next());
    for secure in [true, false] {
        let headers = sse_c::Headers {
            algorithm,
            key,
            key_md5: md5,
            sse,
        };
        if let Ok(Some(customer)) = sse_c::from_headers(headers, secure) {
            let (salt, mac) = sse_c::fingerprint(&customer.key);
            assert!(sse_c::matches(&customer.key, &salt, &mac));
        }
    }
}

const AUTH_REGION: &str = "us-east-1";
const AUTH_SECRET: &str = "fuzz-secret-access-key";

/// The authentication path as the engine runs it on a request: S3's gate, then the KMS steps
/// (scope and clock from the headers, then the signature over the body as received).
fn authenticate(parts: &http::request::Parts, body: &[u8], service: &str) -> Result<(), AuthError> {
    let _ = crate::s3::gate::check(parts, AUTH_REGION);
    let auth = AuthorizationHeader::from_headers(&parts.headers)?;
    let amz_date = check_scope(
        &parts.headers,
        &auth,
        AUTH_REGION,
        service,
        SystemTime::now(),
    )?;
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body,
    };
    verify_signature(&received, &auth, AUTH_SECRET, &amz_date)
}

/// Signs `parts` over `body` for `service` now, every header signed, as a client would.
/// `None` when the request cannot be signed (a header the canonical form cannot carry).
fn sign_for_fuzz(
    parts: &mut http::request::Parts,
    body: &[u8],
    service: &str,
    with_hash: bool,
) -> Option<()> {
    use sha2::{Digest, Sha256};
    let now = SystemTime::now();
    let amz_date = format_amz_date(time::OffsetDateTime::from(now));
    let headers = &mut parts.headers;
    headers.remove(http::header::AUTHORIZATION);
    headers.insert("x-amz-date", http::HeaderValue::from_str(&amz_date).ok()?);
    if !headers.contains_key(http::header::HOST) {
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_static("127.0.0.1"),
        );
    }
    if with_hash {
        let hash = hex::encode(Sha256::digest(body));
        headers.insert(
            "x-amz-content-sha256",
            http::HeaderValue::from_str(&hash).ok()?,
        );
    }
    let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    let auth = AuthorizationHeader {
        access_key_id: "AKIAFUZZ".into(),
        date: amz_date[..8].to_string(),
        region: AUTH_REGION.into(),
        service: service.into(),
        signed_headers: names,
        signature: String::new(),
    };
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body,
    };
    let canonical = canonical_request(&received, &auth, service == "s3").ok()?;
    let scope = format!("{}/{AUTH_REGION}/{service}/aws4_request", auth.date);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = aws_sigv4::sign::v4::generate_signing_key(AUTH_SECRET, now, AUTH_REGION, service);
    let signature = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    let header = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAFUZZ/{scope}, SignedHeaders={}, Signature={signature}",
        auth.signed_headers.join(";")
    );
    parts.headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&header).ok()?,
    );
    Some(())
}

/// Treats the bytes as a raw request (a flags byte, then `METHOD target`, header lines, a
/// blank line and the body) and runs the engine's authentication path over it. With flag 2 the
/// request is first signed properly, and then must pass, must fail once its body changes
/// (even with the original body's hash declared, the attack of finding 1), and for S3 must be
/// refused once an unsigned `x-amz-*` header is added.
pub fn auth_request(data: &[u8]) {
    let [flags, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.split_once(' ').unwrap_or(("POST", first));
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    let service = if flags & 1 == 0 { "kms" } else { "s3" };
    let body = body.as_bytes();
    let _ = authenticate(&parts, body, service);
    if flags & 2 == 0 || sign_for_fuzz(&mut parts, body, service, flags & 4 != 0).is_none() {
        return;
    }
    if authenticate(&parts, body, service).is_err() {
        // The fuzzed request names a header its own signature cannot cover (listed twice in
        // a way HeaderMap merges, say); nothing to compare.
        return;
    }
    let mut tampered = body.to_vec();
    tampered.push(b'x');
    assert_eq!(
        authenticate(&parts, &tampered, service),
        Err(AuthError::SignatureMismatch),
        "a body changed after signing must not verify"
    );
    if service == "s3" && crate::s3::gate::check(&parts, AUTH_REGION).is_ok() {
        parts.headers.insert(
            "x-amz-copy-source",
            http::HeaderValue::from_static("/secret/object"),
        );
        let refused = crate::s3::gate::check(&parts, AUTH_REGION);
        assert!(
            refused.is_err_and(|r| r.code == "AccessDenied"),
            "an unsigned x-amz-* header must be refused"
        );
    }
}
