//! The engine's wire holds as AWS's does: each attack of the security review, replayed with a
//! raw signed request (or a raw socket), is refused with AWS's error code and changes nothing.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::Lab;

/// A request as sent on the wire.
struct Raw {
    method: &'static str,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A response: status, headers (lower case) and body text.
struct Answer {
    status: u16,
    body: String,
}

fn credentials(lab: &Lab, profile: &str) -> (String, String) {
    let identity = lab.engine.identities().by_profile(profile).unwrap();
    (
        identity.access_key_id.clone(),
        identity.secret.expose().to_string(),
    )
}

/// Signs a request for `service` as `profile`, with SigV4 in its headers (or its query when
/// `presign` gives an expiry).
#[allow(clippy::too_many_arguments)]
fn signed(
    lab: &Lab,
    profile: &str,
    service: &str,
    method: &'static str,
    path_and_query: &str,
    mut headers: Vec<(String, String)>,
    body: &[u8],
    presign: Option<Duration>,
) -> Raw {
    let host = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    headers.push(("host".into(), host.clone()));
    let (key, secret) = credentials(lab, profile);
    let identity = aws_credential_types::Credentials::new(key, secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode =
            aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
    }
    if let Some(expires) = presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("http://{host}{path_and_query}");
    let signable = SignableRequest::new(
        method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        if presign.is_some() {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(body)
        },
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let (new_headers, new_query) = instructions.into_parts();
    for h in new_headers {
        headers.push((h.name().to_string(), h.value().to_string()));
    }
    let mut path_and_query = path_and_query.to_string();
    for (k, v) in new_query {
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        path_and_query.push_str(&format!(
            "{sep}{k}={}",
            keylab_engine::sigv4::uri_encode(v.as_bytes(), false)
        ));
    }
    Raw {
        method,
        path_and_query,
        headers,
        body: body.to_vec(),
    }
}

async fn send(lab: &Lab, raw: &Raw) -> Answer {
    let addr = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let mut head = format!("{} {} HTTP/1.1\r\n", raw.method, raw.path_and_query);
    for (k, v) in &raw.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        raw.body.len()
    ));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&raw.body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    parse(&response)
}

fn parse(response: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        body: body.to_string(),
    }
}

fn kms_headers(operation: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/x-amz-json-1.1".into()),
        ("x-amz-target".into(), format!("TrentService.{operation}")),
    ]
}

async fn key_state(lab: &Lab, key: &str) -> String {
    lab.kms("owner-admin")
        .describe_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_state()
        .unwrap()
        .as_str()
        .to_string()
}

#[tokio::test]
async fn a_kms_body_swapped_under_a_signature_is_refused() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let first = crate::common::create_key(&kms).await;
    let second = crate::common::create_key(&kms).await;
    let body = format!(r#"{{"KeyId":"{first}","PendingWindowInDays":7}}"#);
    let mut raw = signed(
        &lab,
        "owner-admin",
        "kms",
        "POST",
        "/",
        kms_headers("ScheduleKeyDeletion"),
        body.as_bytes(),
        None,
    );
    // The replay: another key in the body, and an unsigned header declaring the original
    // body's hash (the verifier once took it on trust).
    raw.body = format!(r#"{{"KeyId":"{second}","PendingWindowInDays":7}}"#).into_bytes();
    raw.headers.push((
        "x-amz-content-sha256".into(),
        hex::encode(Sha256::digest(body.as_bytes())),
    ));
    let answer = send(&lab, &raw).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("InvalidSignatureException"),
        "{}",
        answer.body
    );
    assert_eq!(key_state(&lab, &second).await, "Enabled");
    // The request as signed still works.
    raw.body = body.into_bytes();
    let answer = send(&lab, &raw).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(key_state(&lab, &first).await, "PendingDeletion");
}

#[tokio::test]
async fn an_unauthenticated_kms_request_is_refused_before_its_body_is_read() {
    let lab = Lab::start().await;
    let addr = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    // 16 MiB announced, none of it sent: the answer must not wait for (or hold) the body.
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\nx-amz-target: TrentService.Encrypt\r\nx-amz-date: 20260101T000000Z\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIANOBODY/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\ncontent-length: 16777216\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("answered without the body")
        .unwrap();
    let answer = parse(&response);
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("UnrecognizedClientException"),
        "{}",
        answer.body
    );
    // A forged operation name is not written into the audit log.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\nx-amz-target: TrentService.Decrypt\u{1b}[31mFAKE\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let events = lab.engine.audit().events();
    assert!(events.iter().all(|e| !e.event_name.contains("FAKE")));
    assert!(
        events
            .iter()
            .filter(|e| e.user_identity.is_none())
            .all(|e| e.request_parameters.is_null()),
        "unauthenticated requests are recorded without what they sent"
    );
}

#[tokio::test]
async fn s3_refuses_what_aws_refuses_before_the_signature() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    s3.create_bucket().bucket("vault").send().await.unwrap();
    s3.put_object()
        .bucket("vault")
        .key("secret.txt")
        .body(b"the secret".to_vec().into())
        .send()
        .await
        .unwrap();
    // An unsigned x-amz-copy-source turning a signed empty PutObject into a copy.
    let mut raw = signed(
        &lab,
        "owner-admin",
        "s3",
        "PUT",
        "/vault/copy.txt",
        Vec::new(),
        b"",
        None,
    );
    raw.headers
        .push(("x-amz-copy-source".into(), "/vault/secret.txt".into()));
    let answer = send(&lab, &raw).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("<Code>AccessDenied</Code>"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("not signed"), "{}", answer.body);
    assert!(
        s3.head_object()
            .bucket("vault")
            .key("copy.txt")
            .send()
            .await
            .is_err(),
        "nothing was copied"
    );
    // Signature Version 2, in a header with a date from 2001 and in a URL valid until 2100.
    let v2 = Raw {
        method: "GET",
        path_and_query: "/vault/secret.txt".into(),
        headers: vec![
            ("host".into(), "127.0.0.1".into()),
            ("date".into(), "Mon, 01 Jan 2001 00:00:00 GMT".into()),
            (
                "authorization".into(),
                format!("AWS {}:c2ln", credentials(&lab, "owner-admin").0),
            ),
        ],
        body: Vec::new(),
    };
    let answer = send(&lab, &v2).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("<Code>InvalidRequest</Code>"),
        "{}",
        answer.body
    );
    let v2_url = Raw {
        method: "GET",
        path_and_query: format!(
            "/vault/secret.txt?AWSAccessKeyId={}&Expires=4102444800&Signature=c2ln",
            credentials(&lab, "owner-admin").0
        ),
        headers: vec![("host".into(), "127.0.0.1".into())],
        body: Vec::new(),
    };
    assert!(send(&lab, &v2_url).await.body.contains("InvalidRequest"));
    // A SigV4 presigned URL valid for longer than a week.
    let long = signed(
        &lab,
        "owner-admin",
        "s3",
        "GET",
        "/vault/secret.txt",
        Vec::new(),
        b"",
        Some(Duration::from_secs(60)),
    );
    let mut long = long;
    long.path_and_query = long
        .path_and_query
        .replace("X-Amz-Expires=60", "X-Amz-Expires=999999999");
    let answer = send(&lab, &long).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("AuthorizationQueryParametersError") && answer.body.contains("604800"),
        "{}",
        answer.body
    );
    // A credential scope for another service.
    let sts = signed(
        &lab,
        "owner-admin",
        "sts",
        "GET",
        "/vault/secret.txt",
        Vec::new(),
        b"",
        None,
    );
    let answer = send(&lab, &sts).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("AuthorizationHeaderMalformed") && answer.body.contains("sts"),
        "{}",
        answer.body
    );
    // A presigned URL of a week or less works.
    let fine = signed(
        &lab,
        "owner-admin",
        "s3",
        "GET",
        "/vault/secret.txt",
        Vec::new(),
        b"",
        Some(Duration::from_secs(604_800)),
    );
    let answer = send(&lab, &fine).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, "the secret");
}

#[tokio::test]
async fn a_key_policy_with_not_principal_and_allow_is_refused() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let key = crate::common::create_key(&kms).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let (code, message) = crate::common::err(
        kms.put_key_policy()
            .key_id(&key)
            .policy(policy)
            .send()
            .await,
    );
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert!(message.contains("NotPrincipal"), "{message}");
}

#[tokio::test]
async fn a_half_open_connection_is_closed_after_the_header_timeout() {
    let lab = Lab::start().await;
    let addr = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let waited = tokio::time::timeout(
        keylab_engine::server::HEADER_TIMEOUT + Duration::from_secs(5),
        stream.read_to_end(&mut rest),
    )
    .await;
    assert!(
        waited.is_ok(),
        "the engine closes a connection that never finishes its headers"
    );
}

/// A browser POST upload of `key` to `bucket` with the form `fields` (and the POST policy
/// allowing them), signed as `profile`.
async fn post_upload(
    lab: &Lab,
    profile: &str,
    bucket: &str,
    key: &str,
    fields: &[(&str, &str)],
) -> Answer {
    use base64::Engine as _;
    let (access_key, secret) = credentials(lab, profile);
    let now = SystemTime::now();
    let date = keylab_engine::sigv4::format_amz_date(time::OffsetDateTime::from(now));
    let credential = format!("{access_key}/{}/us-east-1/s3/aws4_request", &date[..8]);
    let mut conditions = vec![
        serde_json::json!({ "bucket": bucket }),
        serde_json::json!(["eq", "$key", key]),
        serde_json::json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
        serde_json::json!({ "x-amz-credential": credential }),
        serde_json::json!({ "x-amz-date": date }),
    ];
    for (k, v) in fields {
        conditions.push(serde_json::json!({ *k: *v }));
    }
    let policy =
        serde_json::json!({ "expiration": "2099-01-01T00:00:00.000Z", "conditions": conditions });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signing_key = v4::generate_signing_key(&secret, now, "us-east-1", "s3");
    let signature = v4::calculate_signature(signing_key, policy.as_bytes());
    let boundary = "keylabboundary";
    let mut form: Vec<(String, String)> = vec![
        ("key".into(), key.into()),
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), credential),
        ("x-amz-date".into(), date),
        ("policy".into(), policy),
        ("x-amz-signature".into(), signature),
    ];
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut body = String::new();
    for (k, v) in &form {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nposted\r\n--{boundary}--\r\n"
    ));
    let host = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let raw = Raw {
        method: "POST",
        path_and_query: format!("/{bucket}"),
        headers: vec![
            ("host".into(), host),
            (
                "content-type".into(),
                format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
        body: body.into_bytes(),
    };
    send(lab, &raw).await
}

#[tokio::test]
async fn a_browser_post_upload_is_authorized_as_put_object() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    s3.create_bucket().bucket("forms").send().await.unwrap();
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyUnencryptedObjectUploads","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::forms/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]}"#;
    s3.put_bucket_policy()
        .bucket("forms")
        .policy(deny)
        .send()
        .await
        .unwrap();
    let denied = post_upload(&lab, "owner-admin", "forms", "plain.txt", &[]).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied.body.contains("AccessDenied"), "{}", denied.body);
    assert!(
        s3.head_object()
            .bucket("forms")
            .key("plain.txt")
            .send()
            .await
            .is_err()
    );
    let allowed = post_upload(
        &lab,
        "owner-admin",
        "forms",
        "kms.txt",
        &[("x-amz-server-side-encryption", "aws:kms")],
    )
    .await;
    assert!(
        allowed.status / 100 == 2,
        "{} {}",
        allowed.status,
        allowed.body
    );
    let head = s3
        .head_object()
        .bucket("forms")
        .key("kms.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.server_side_encryption().unwrap().as_str(), "aws:kms");
    let event = lab
        .engine
        .audit()
        .events()
        .into_iter()
        .rev()
        .find(|e| {
            e.event_name == "PutObject"
                && e.resources.iter().any(|r| r.ends_with("forms/plain.txt"))
        })
        .expect("the denied POST is audited as the PutObject it is");
    assert_eq!(event.decision.as_deref(), Some("Deny"));
}
