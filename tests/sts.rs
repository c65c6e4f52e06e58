//! STS on the built-in engine, with raw signed Query-protocol requests (no STS SDK crate, to
//! save build time) and the KMS and S3 SDK clients: GetCallerIdentity for every identity,
//! AssumeRole decided by the role's trust policy and the caller's identity policy (in one
//! account and across two, with AWS's messages), temporary credentials that KMS, S3 and STS
//! accept with their session token and refuse without it or once the engine clock passes
//! their expiry, and assumed-role principals in policies, traces and the audit log.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Lab, OWNER, PARTNER, err};

const READER: &str = "arn:aws:iam::111122223333:role/PartnerReader";
const AUDITOR: &str = "arn:aws:iam::111122223333:role/Auditor";

/// Credentials to sign with: long-term, or temporary with a token.
#[derive(Clone)]
struct Creds {
    key: String,
    secret: String,
    token: Option<String>,
}

fn long_term(lab: &Lab, profile: &str) -> Creds {
    let i = lab.engine.identities().by_profile(profile).unwrap();
    Creds {
        key: i.access_key_id.clone(),
        secret: i.secret.expose().to_string(),
        token: None,
    }
}

/// Sends a signed STS Query request; returns the status and the body.
async fn sts(lab: &Lab, creds: &Creds, form: &[(&str, &str)]) -> (u16, String) {
    let host = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let body: String = form
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                keylab_engine::sigv4::uri_encode(v.as_bytes(), false)
            )
        })
        .chain(["Version=2011-06-15".to_string()])
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = vec![
        ("host".to_string(), host.clone()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
    ];
    let identity = aws_credential_types::Credentials::new(
        creds.key.clone(),
        creds.secret.clone(),
        creds.token.clone(),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("http://{host}/");
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for h in instructions.into_parts().0 {
        headers.push((h.name().to_string(), h.value().to_string()));
    }
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let mut head = "POST / HTTP/1.1\r\n".to_string();
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// The text of the first `<name>` element.
fn xml(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = body
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {body}"))
        + open.len();
    let end = body[start..].find(&format!("</{name}>")).unwrap() + start;
    body[start..end]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
}

async fn assume(
    lab: &Lab,
    creds: &Creds,
    role: &str,
    session: &str,
    duration: Option<&str>,
) -> (u16, String) {
    let mut form = vec![
        ("Action", "AssumeRole"),
        ("RoleArn", role),
        ("RoleSessionName", session),
    ];
    if let Some(d) = duration {
        form.push(("DurationSeconds", d));
    }
    sts(lab, creds, &form).await
}

fn session_creds(body: &str) -> Creds {
    Creds {
        key: xml(body, "AccessKeyId"),
        secret: xml(body, "SecretAccessKey"),
        token: Some(xml(body, "SessionToken")),
    }
}

fn kms_with(lab: &Lab, creds: &Creds) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .endpoint_url(lab.engine.http_endpoint())
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            creds.key.clone(),
            creds.secret.clone(),
            creds.token.clone(),
            None,
            "test",
        ))
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
        .http_client(keylab::backend::sdk::http_client(None).unwrap())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

fn s3_with(lab: &Lab, creds: &Creds) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(lab.engine.http_endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            creds.key.clone(),
            creds.secret.clone(),
            creds.token.clone(),
            None,
            "test",
        ))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .http_client(keylab::backend::sdk::http_client(None).unwrap())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[tokio::test]
async fn get_caller_identity_answers_for_every_identity() {
    let lab = Lab::start().await;
    for identity in lab.engine.identities().identities() {
        let (status, body) = sts(
            &lab,
            &long_term(&lab, &identity.profile),
            &[("Action", "GetCallerIdentity")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(xml(&body, "Arn"), identity.caller.arn);
        assert_eq!(xml(&body, "Account"), identity.caller.account);
        let user_id = xml(&body, "UserId");
        match identity.kind {
            keylab_engine::identity::PrincipalKind::User => {
                assert!(
                    user_id.starts_with("AIDA") && user_id.len() == 21,
                    "{user_id}"
                )
            }
            keylab_engine::identity::PrincipalKind::Role => assert!(
                user_id.starts_with("AROA") && user_id.ends_with(&format!(":{}", identity.profile)),
                "{user_id}"
            ),
        }
    }
    let mut wrong = long_term(&lab, "owner-admin");
    wrong.secret = "not-the-secret".into();
    let (status, body) = sts(&lab, &wrong, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(
        (status, xml(&body, "Code")),
        (403, "SignatureDoesNotMatch".into())
    );
    let (status, body) = sts(
        &lab,
        &long_term(&lab, "owner-admin"),
        &[("Action", "GetSessionToken")],
    )
    .await;
    assert_eq!((status, xml(&body, "Code")), (400, "InvalidAction".into()));
}

#[tokio::test]
async fn assume_role_needs_the_trust_policy_and_the_callers_identity_policy() {
    let lab = Lab::start().await;
    // Cross-account, both allow: the partner's analyst may assume the owner's reader role.
    let (status, body) = assume(
        &lab,
        &long_term(&lab, "partner-analyst"),
        READER,
        "alice",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let arn = xml(&body, "Arn");
    assert_eq!(
        arn,
        format!("arn:aws:sts::{OWNER}:assumed-role/PartnerReader/alice")
    );
    assert!(xml(&body, "AccessKeyId").starts_with("ASIA"));
    assert!(xml(&body, "AssumedRoleId").starts_with("AROA"));

    // The trust policy does not name the outsider's account: no reason given, as AWS.
    let (status, body) = assume(
        &lab,
        &long_term(&lab, "outsider-admin"),
        READER,
        "mallory",
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(xml(&body, "Code"), "AccessDenied");
    assert_eq!(
        xml(&body, "Message"),
        format!(
            "User: arn:aws:iam::777788889999:user/admin is not authorized to perform: sts:AssumeRole on resource: {READER}"
        )
    );
    // An unknown role reads the same: STS does not say whether a role exists.
    let ghost = "arn:aws:iam::111122223333:role/Ghost";
    let (_, body) = assume(&lab, &long_term(&lab, "partner-admin"), ghost, "s1", None).await;
    assert!(
        xml(&body, "Message").ends_with(&format!("on resource: {ghost}")),
        "{body}"
    );

    // The trust policy names the partner account, but the analyst's identity policy does not
    // allow the auditor role.
    let (status, body) = assume(
        &lab,
        &long_term(&lab, "partner-analyst"),
        AUDITOR,
        "bob",
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        xml(&body, "Message"),
        format!(
            "User: arn:aws:sts::{PARTNER}:assumed-role/Analyst/partner-analyst is not authorized to perform: sts:AssumeRole on resource: {AUDITOR} because no identity-based policy allows the sts:AssumeRole action"
        )
    );
    // Remove the analyst's permission: the reader role is refused the same way.
    lab.engine
        .delete_identity_policy("partner-analyst", "AssumeOwnerReader")
        .unwrap();
    let (status, body) = assume(
        &lab,
        &long_term(&lab, "partner-analyst"),
        READER,
        "alice",
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        xml(&body, "Message")
            .ends_with("because no identity-based policy allows the sts:AssumeRole action"),
        "{body}"
    );
    // Same account: the trust policy names the owner account, so the identity policy decides.
    let (status, _) = assume(
        &lab,
        &long_term(&lab, "owner-admin"),
        AUDITOR,
        "audit",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = assume(
        &lab,
        &long_term(&lab, "owner-analyst"),
        AUDITOR,
        "audit",
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        xml(&body, "Message").contains("because no identity-based policy allows"),
        "{body}"
    );
    // A trust policy naming the analyst's role itself is enough in its own account.
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Analyst"},"Action":"sts:AssumeRole"}]}"#;
    lab.engine.put_trust_policy(AUDITOR, trust).unwrap();
    let (status, body) = assume(
        &lab,
        &long_term(&lab, "owner-analyst"),
        AUDITOR,
        "audit",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // ... and the partner, no longer named, is refused.
    let (status, _) = assume(
        &lab,
        &long_term(&lab, "partner-admin"),
        AUDITOR,
        "audit",
        None,
    )
    .await;
    assert_eq!(status, 403);

    // Every decision is in the audit log, the denials with their trace.
    let events = lab.engine.audit().events();
    let denied: Vec<_> = events
        .iter()
        .filter(|e| e.event_source == "sts.amazonaws.com" && e.decision.as_deref() == Some("Deny"))
        .collect();
    assert!(denied.len() >= 5);
    assert!(
        denied
            .iter()
            .all(|e| e.trace.is_some() && e.error_code.as_deref() == Some("AccessDenied"))
    );
}

#[tokio::test]
async fn assume_role_validates_its_parameters_as_aws() {
    let lab = Lab::start().await;
    let admin = long_term(&lab, "partner-admin");
    let cases = [
        ("899", "Member must have value greater than or equal to 900"),
        (
            "43201",
            "Member must have value less than or equal to 43200",
        ),
    ];
    for (d, expected) in cases {
        let (status, body) = assume(&lab, &admin, READER, "s1", Some(d)).await;
        assert_eq!(
            (status, xml(&body, "Code")),
            (400, "ValidationError".into())
        );
        assert!(xml(&body, "Message").contains(expected), "{body}");
    }
    let (status, body) = assume(&lab, &admin, READER, "s1", Some("43200")).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = assume(&lab, &admin, READER, "bad name", None).await;
    assert!(xml(&body, "Message").contains("roleSessionName"), "{body}");
    // A role session assuming a role is role chaining: one hour at most.
    let (_, body) = assume(
        &lab,
        &long_term(&lab, "partner-analyst"),
        READER,
        "s2",
        Some("7200"),
    )
    .await;
    assert_eq!(
        xml(&body, "Message"),
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    );
}

#[tokio::test]
async fn temporary_credentials_work_on_kms_s3_and_sts_until_they_expire() {
    let lab = Lab::start().await;
    let owner = lab.kms("owner-admin");
    let key = crate::common::create_key(&owner).await;
    let ct = owner
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"ledger".to_vec()))
        .encryption_context("dept", "finance")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    lab.s3("owner-admin")
        .create_bucket()
        .bucket("owner-data")
        .send()
        .await
        .unwrap();
    lab.s3("owner-admin")
        .put_object()
        .bucket("owner-data")
        .key("a.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap();

    let (_, body) = assume(
        &lab,
        &long_term(&lab, "partner-analyst"),
        READER,
        "alice",
        Some("900"),
    )
    .await;
    let session = session_creds(&body);
    // STS knows the session.
    let (status, body) = sts(&lab, &session, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        xml(&body, "Arn"),
        format!("arn:aws:sts::{OWNER}:assumed-role/PartnerReader/alice")
    );
    // KMS: the role's identity policy and the key's default policy allow Decrypt in-account.
    let kms = kms_with(&lab, &session);
    let plain = kms
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("dept", "finance")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext.unwrap().as_ref(), b"ledger");
    // ... but not Encrypt, which the role's policy leaves out: the session ARN is in the message.
    let (code, message) = err(kms
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.starts_with(&format!(
            "User: arn:aws:sts::{OWNER}:assumed-role/PartnerReader/alice is not authorized"
        )),
        "{message}"
    );
    // S3 reads with the session.
    let s3 = s3_with(&lab, &session);
    let object = s3
        .get_object()
        .bucket("owner-data")
        .key("a.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        object.body.collect().await.unwrap().into_bytes().as_ref(),
        b"hello"
    );
    // The audit log names the assumed role and its session.
    let events = lab.engine.audit().events();
    let decrypt = events
        .iter()
        .rev()
        .find(|e| e.event_name == "Decrypt")
        .unwrap();
    let who = decrypt.user_identity.as_ref().unwrap();
    assert_eq!(
        who.arn,
        format!("arn:aws:sts::{OWNER}:assumed-role/PartnerReader/alice")
    );
    assert_eq!(who.session_issuer.as_deref(), Some(READER));
    assert!(who.access_key_id.starts_with("ASIA") && who.principal_id.ends_with(":alice"));
    let denied = events
        .iter()
        .rev()
        .find(|e| e.event_name == "Encrypt")
        .unwrap();
    assert_eq!(denied.trace.as_ref().unwrap().caller.principal_arn, READER);

    // Without the token, or with another token, the key is refused.
    let mut no_token = session.clone();
    no_token.token = None;
    let (code, _) = err(kms_with(&lab, &no_token).list_keys().send().await);
    assert_eq!(code, "UnrecognizedClientException");
    let mut forged = session.clone();
    forged.token = Some("forged".into());
    let (status, body) = sts(&lab, &forged, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(
        (status, xml(&body, "Code")),
        (403, "InvalidClientTokenId".into())
    );
    let (code, _) = err(s3_with(&lab, &forged).list_buckets().send().await);
    assert_eq!(code, "InvalidToken");

    // Fifteen minutes later on the engine clock, the session has expired everywhere.
    lab.engine
        .advance_clock(time::Duration::minutes(16))
        .unwrap();
    let (code, message) = err(kms.list_keys().send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ExpiredTokenException",
            "The security token included in the request is expired"
        )
    );
    let (status, body) = sts(&lab, &session, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!((status, xml(&body, "Code")), (400, "ExpiredToken".into()));
    let (code, _) = err(s3.list_buckets().send().await);
    assert_eq!(code, "ExpiredToken");
}

#[tokio::test]
async fn sessions_survive_an_engine_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
        .await
        .unwrap();
    let lab = Lab { engine, dir };
    let (_, body) = assume(
        &lab,
        &long_term(&lab, "partner-admin"),
        READER,
        "kept",
        None,
    )
    .await;
    let session = session_creds(&body);
    let Lab { engine, dir } = lab;
    engine.shutdown().await;
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
        .await
        .unwrap();
    let lab = Lab { engine, dir };
    let (status, body) = sts(&lab, &session, &[("Action", "GetCallerIdentity")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(xml(&body, "Arn").ends_with("assumed-role/PartnerReader/kept"));
}
