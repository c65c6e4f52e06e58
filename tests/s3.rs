//! End-to-end tests of the engine's S3 through `aws-sdk-s3` (HTTP and HTTPS): buckets, objects
//! encrypted at rest, default bucket encryption, SSE-KMS through the engine's KMS, and bucket
//! policies evaluated with the transport and encryption-header condition keys.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use common::{Lab, OWNER, PARTNER, create_key, err};

fn body(s: &str) -> ByteStream {
    ByteStream::from(s.as_bytes().to_vec())
}

async fn read(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

fn default_encryption(
    algorithm: ServerSideEncryption,
    key: Option<&str>,
    bucket_key: bool,
) -> ServerSideEncryptionConfiguration {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(algorithm)
        .set_kms_master_key_id(key.map(str::to_string))
        .build()
        .unwrap();
    ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(bucket_key)
                .build(),
        )
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_are_owned_and_named_globally() {
    let lab = Lab::start().await;
    let owner = lab.s3("owner-admin");
    let partner = lab.s3("partner-admin");
    owner
        .create_bucket()
        .bucket("finance-data")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(owner.create_bucket().bucket("finance-data").send().await).0,
        "BucketAlreadyOwnedByYou"
    );
    assert_eq!(
        err(partner.create_bucket().bucket("finance-data").send().await).0,
        "BucketAlreadyExists"
    );
    partner
        .create_bucket()
        .bucket("partner-data")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = owner
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(
        names,
        ["finance-data"],
        "ListBuckets shows only the caller's buckets"
    );
    owner
        .head_bucket()
        .bucket("finance-data")
        .send()
        .await
        .unwrap();
    owner
        .put_object()
        .bucket("finance-data")
        .key("a.csv")
        .body(body("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(owner.delete_bucket().bucket("finance-data").send().await).0,
        "BucketNotEmpty"
    );
    owner
        .delete_object()
        .bucket("finance-data")
        .key("a.csv")
        .send()
        .await
        .unwrap();
    owner
        .delete_bucket()
        .bucket("finance-data")
        .send()
        .await
        .unwrap();
    assert!(
        owner
            .head_bucket()
            .bucket("finance-data")
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        err(owner
            .put_object()
            .bucket("nope")
            .key("a")
            .body(body("x"))
            .send()
            .await)
        .0,
        "NoSuchBucket"
    );
    assert_eq!(
        err(owner.create_bucket().bucket("ab").send().await).0,
        "InvalidBucketName",
        "names are 3 to 63 characters"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_get_sse_s3_by_default_and_are_encrypted_on_disk() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    s3.create_bucket().bucket("b-one").send().await.unwrap();
    let secret = "SSN 900-12-3456 PLAINTEXT MARKER";
    let put = s3
        .put_object()
        .bucket("b-one")
        .key("people/p1.txt")
        .body(body(secret))
        .metadata("owner", "hr")
        .content_type("text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256),
        "SSE-S3 is the default since 2023"
    );
    let got = s3
        .get_object()
        .bucket("b-one")
        .key("people/p1.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    assert_eq!(
        got.metadata().unwrap().get("owner").map(String::as_str),
        Some("hr")
    );
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(read(got).await, secret.as_bytes());
    let head = s3
        .head_object()
        .bucket("b-one")
        .key("people/p1.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(secret.len() as i64));
    assert_eq!(
        err(s3.get_object().bucket("b-one").key("missing").send().await).0,
        "NoSuchKey"
    );

    let mut raw = Vec::new();
    for entry in walk(lab.dir.path()) {
        raw.extend(std::fs::read(entry).unwrap());
    }
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the plaintext is nowhere in the state directory"
    );

    for i in 0..5 {
        s3.put_object()
            .bucket("b-one")
            .key(format!("logs/{i}.txt"))
            .body(body("l"))
            .send()
            .await
            .unwrap();
    }
    let page = s3
        .list_objects_v2()
        .bucket("b-one")
        .prefix("logs/")
        .max_keys(3)
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents().len(), 3);
    assert_eq!(page.is_truncated(), Some(true));
    let rest = s3
        .list_objects_v2()
        .bucket("b-one")
        .prefix("logs/")
        .continuation_token(page.next_continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.contents().len(), 2);
    assert_eq!(rest.is_truncated(), Some(false));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_bucket_encryption_with_a_customer_managed_key() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    let kms = lab.kms("owner-admin");
    let key = create_key(&kms).await;
    s3.create_bucket()
        .bucket("kms-bucket")
        .send()
        .await
        .unwrap();
    let got = s3
        .get_bucket_encryption()
        .bucket("kms-bucket")
        .send()
        .await
        .unwrap();
    let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm(),
        &ServerSideEncryption::Aes256
    );

    let bad = s3
        .put_bucket_encryption()
        .bucket("kms-bucket")
        .server_side_encryption_configuration(default_encryption(
            ServerSideEncryption::Aes256,
            Some(&key),
            false,
        ))
        .send()
        .await;
    let (code, msg) = err(bad);
    assert_eq!(code, "InvalidArgument");
    assert_eq!(
        msg,
        "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"
    );

    s3.put_bucket_encryption()
        .bucket("kms-bucket")
        .server_side_encryption_configuration(default_encryption(
            ServerSideEncryption::AwsKms,
            Some(&key),
            true,
        ))
        .send()
        .await
        .unwrap();
    let put = s3
        .put_object()
        .bucket("kms-bucket")
        .key("r.csv")
        .body(body("revenue"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(put.ssekms_key_id(), Some(key.as_str()));
    assert_eq!(put.bucket_key_enabled(), Some(true));
    let got = s3
        .get_object()
        .bucket("kms-bucket")
        .key("r.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(got.ssekms_key_id(), Some(key.as_str()));
    assert_eq!(read(got).await, b"revenue");

    let events = lab.engine.audit().events();
    assert!(
        events
            .iter()
            .any(|e| e.event_name == "PutObject"
                && e.resources.iter().any(|r| r.ends_with("/r.csv"))),
        "S3 requests are audited"
    );
    let generate = events
        .iter()
        .find(|e| e.event_name == "GenerateDataKey")
        .expect("S3 called KMS GenerateDataKey");
    assert_eq!(
        generate.via_service.as_deref(),
        Some("s3.us-east-1.amazonaws.com")
    );
    assert_eq!(generate.resources, vec![key.clone()]);
    assert_eq!(
        generate.encryption_context.as_ref().unwrap()["aws:s3:arn"],
        "arn:aws:s3:::kms-bucket",
        "with a bucket key the context is the bucket ARN"
    );
    assert!(
        events
            .iter()
            .any(|e| e.event_name == "Decrypt" && e.via_service.is_some()),
        "and Decrypt on read"
    );

    s3.delete_bucket_encryption()
        .bucket("kms-bucket")
        .send()
        .await
        .unwrap();
    let put = s3
        .put_object()
        .bucket("kms-bucket")
        .key("s.csv")
        .body(body("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256),
        "DeleteBucketEncryption returns the bucket to SSE-S3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_kms_fails_with_kms_errors_when_the_key_cannot_be_used() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    let kms = lab.kms("owner-admin");
    let key = create_key(&kms).await;
    s3.create_bucket().bucket("k-bucket").send().await.unwrap();
    s3.put_object()
        .bucket("k-bucket")
        .key("o")
        .body(body("x"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
    kms.disable_key().key_id(&key).send().await.unwrap();
    let (code, msg) = err(s3.get_object().bucket("k-bucket").key("o").send().await);
    assert_eq!(
        (code.as_str(), msg),
        ("KMS.DisabledException", format!("{key} is disabled."))
    );
    let put = s3
        .put_object()
        .bucket("k-bucket")
        .key("p")
        .body(body("x"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await;
    assert_eq!(err(put).0, "KMS.DisabledException");
    kms.enable_key().key_id(&key).send().await.unwrap();
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (code, msg) = err(s3.get_object().bucket("k-bucket").key("o").send().await);
    assert_eq!(
        (code.as_str(), msg),
        (
            "KMS.KMSInvalidStateException",
            format!("{key} is pending deletion.")
        )
    );
    let missing = format!("arn:aws:kms:us-east-1:{OWNER}:key/11111111-2222-3333-4444-555555555555");
    let put = s3
        .put_object()
        .bucket("k-bucket")
        .key("q")
        .body(body("x"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&missing)
        .send()
        .await;
    assert_eq!(err(put).0, "KMS.NotFoundException");
}

const DENY_HTTP: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowSSLRequestsOnly","Effect":"Deny","Principal":"*","Action":"s3:*",
  "Resource":["arn:aws:s3:::secure-bucket","arn:aws:s3:::secure-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deny_insecure_transport_policy_denies_http_and_allows_https() {
    let lab = Lab::start().await;
    let http = lab.s3("owner-admin");
    let https = lab.s3_https("owner-admin");
    https
        .create_bucket()
        .bucket("secure-bucket")
        .send()
        .await
        .unwrap();
    https
        .put_bucket_policy()
        .bucket("secure-bucket")
        .policy(DENY_HTTP)
        .send()
        .await
        .unwrap();
    let (code, msg) = err(http
        .put_object()
        .bucket("secure-bucket")
        .key("a")
        .body(body("x"))
        .send()
        .await);
    assert_eq!(code, "AccessDenied");
    assert!(
        msg.ends_with("with an explicit deny in a resource-based policy"),
        "{msg}"
    );
    https
        .put_object()
        .bucket("secure-bucket")
        .key("a")
        .body(body("x"))
        .send()
        .await
        .expect("HTTPS upload allowed");
    assert_eq!(
        https
            .get_bucket_policy()
            .bucket("secure-bucket")
            .send()
            .await
            .unwrap()
            .policy(),
        Some(DENY_HTTP)
    );
    let denied = lab
        .engine
        .audit()
        .events()
        .into_iter()
        .find(|e| e.decision.as_deref() == Some("Deny"))
        .unwrap();
    assert!(!denied.secure_transport);
    assert!(
        denied
            .trace
            .unwrap()
            .statements
            .iter()
            .any(|s| s.notes.iter().any(|n| n.contains("aws:SecureTransport")))
    );

    let mistake = DENY_HTTP.replace("\"false\"", "\"true\"");
    https
        .put_bucket_policy()
        .bucket("secure-bucket")
        .policy(&mistake)
        .send()
        .await
        .unwrap();
    http.put_object()
        .bucket("secure-bucket")
        .key("b")
        .body(body("x"))
        .send()
        .await
        .expect("the \"true\" mistake leaves plain HTTP open");
    assert_eq!(
        err(https
            .put_object()
            .bucket("secure-bucket")
            .key("c")
            .body(body("x"))
            .send()
            .await)
        .0,
        "AccessDenied",
        "and blocks HTTPS"
    );
    http.delete_bucket_policy()
        .bucket("secure-bucket")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(http
            .get_bucket_policy()
            .bucket("secure-bucket")
            .send()
            .await)
        .0,
        "NoSuchBucketPolicy"
    );
    let (code, msg) = err(http
        .put_bucket_policy()
        .bucket("secure-bucket")
        .policy("{\"Statement\":[]}")
        .send()
        .await);
    assert_eq!(code, "MalformedPolicy");
    assert!(msg.contains("no statements"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deny_unencrypted_uploads_policy_sees_request_headers_only() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    let kms = lab.kms("owner-admin");
    let key = create_key(&kms).await;
    s3.create_bucket().bucket("enc-only").send().await.unwrap();
    let policy = r#"{"Version":"2012-10-17","Id":"PutObjPolicy","Statement":[
      {"Sid":"DenyIncorrectEncryptionHeader","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::enc-only/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
      {"Sid":"DenyUnEncryptedObjectUploads","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::enc-only/*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}]}"#;
    s3.put_bucket_policy()
        .bucket("enc-only")
        .policy(policy)
        .send()
        .await
        .unwrap();
    s3.put_bucket_encryption()
        .bucket("enc-only")
        .server_side_encryption_configuration(default_encryption(
            ServerSideEncryption::AwsKms,
            Some(&key),
            false,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(s3
            .put_object()
            .bucket("enc-only")
            .key("a")
            .body(body("x"))
            .send()
            .await)
        .0,
        "AccessDenied",
        "default encryption does not put the header on the request"
    );
    assert_eq!(
        err(s3
            .put_object()
            .bucket("enc-only")
            .key("a")
            .body(body("x"))
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await)
        .0,
        "AccessDenied"
    );
    s3.put_object()
        .bucket("enc-only")
        .key("a")
        .body(body("x"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_account_reads_of_sse_kms_objects_need_bucket_key_and_identity_policies() {
    let lab = Lab::start().await;
    let owner = lab.s3("owner-admin");
    let kms = lab.kms("owner-admin");
    let reader = lab.s3("partner-analyst");
    let key = create_key(&kms).await;
    owner.create_bucket().bucket("shared").send().await.unwrap();
    owner
        .put_object()
        .bucket("shared")
        .key("report.csv")
        .body(body("q3 numbers"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();

    let (_, msg) = err(reader
        .get_object()
        .bucket("shared")
        .key("report.csv")
        .send()
        .await);
    assert!(
        msg.ends_with("because no resource-based policy allows the s3:GetObject action"),
        "{msg}"
    );
    let bucket_policy = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}}]}}"#
    );
    owner
        .put_bucket_policy()
        .bucket("shared")
        .policy(&bucket_policy)
        .send()
        .await
        .unwrap();
    let (_, msg) = err(reader
        .get_object()
        .bucket("shared")
        .key("report.csv")
        .send()
        .await);
    assert!(
        msg.ends_with("because no identity-based policy allows the s3:GetObject action"),
        "{msg}"
    );
    lab.engine
        .put_identity_policy("partner-analyst", "ReadShared", r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}"#)
        .unwrap();
    let (code, msg) = err(reader
        .get_object()
        .bucket("shared")
        .key("report.csv")
        .send()
        .await);
    assert_eq!(code, "AccessDenied");
    assert!(
        msg.contains("kms:Decrypt") && msg.contains("no resource-based policy allows"),
        "S3 reads call KMS as the requester: {msg}"
    );
    let key_policy = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}},
          {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:root"}},"Action":"kms:Decrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}}}}]}}"#
    );
    kms.put_key_policy()
        .key_id(&key)
        .policy(&key_policy)
        .send()
        .await
        .unwrap();
    let (_, msg) = err(reader
        .get_object()
        .bucket("shared")
        .key("report.csv")
        .send()
        .await);
    assert!(
        msg.contains("kms:Decrypt") && msg.contains("no identity-based policy allows"),
        "{msg}"
    );
    lab.engine
        .put_identity_policy(
            "partner-analyst",
            "DecryptShared",
            &format!(r#"{{"Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{key}"}}]}}"#),
        )
        .unwrap();
    let got = reader
        .get_object()
        .bucket("shared")
        .key("report.csv")
        .send()
        .await
        .expect("bucket policy, key policy and identity policy all allow");
    assert_eq!(read(got).await, b"q3 numbers");
    let direct = lab.kms("partner-analyst");
    let ct = kms
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(direct
            .decrypt()
            .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
            .send()
            .await)
        .0,
        "AccessDeniedException",
        "kms:ViaService limits the key to use through S3"
    );
}

fn unblock_sse_c() -> ServerSideEncryptionConfiguration {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .unwrap();
    let blocked = aws_sdk_s3::types::BlockedEncryptionTypes::builder()
        .encryption_type(aws_sdk_s3::types::EncryptionType::None)
        .build();
    ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .blocked_encryption_types(blocked)
                .build(),
        )
        .build()
        .unwrap()
}

fn blocked_types(
    config: &aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput,
) -> Vec<String> {
    config
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .blocked_encryption_types()
        .map(|b| {
            b.encryption_type()
                .iter()
                .map(|t| t.as_str().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_c_needs_https_an_unblocked_bucket_and_the_right_key() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let lab = Lab::start().await;
    let https = lab.s3_https("owner-admin");
    let http = lab.s3("owner-admin");
    let key = [0x42u8; 32];
    let other = [0x43u8; 32];
    https
        .create_bucket()
        .bucket("sse-c-bucket")
        .send()
        .await
        .unwrap();
    let secret = "CUSTOMER-KEY PROTECTED PLAINTEXT";
    let put = |client: &aws_sdk_s3::Client, k: &[u8]| {
        client
            .put_object()
            .bucket("sse-c-bucket")
            .key("c.txt")
            .body(body(secret))
            .sse_customer_algorithm("AES256")
            .sse_customer_key(b64(k))
    };

    assert_eq!(
        blocked_types(
            &https
                .get_bucket_encryption()
                .bucket("sse-c-bucket")
                .send()
                .await
                .unwrap()
        ),
        ["SSE-C"],
        "new buckets block SSE-C"
    );
    let (code, msg) = err(put(&https, &key).send().await);
    assert_eq!(code, "AccessDenied", "{msg}");
    https
        .put_bucket_encryption()
        .bucket("sse-c-bucket")
        .server_side_encryption_configuration(unblock_sse_c())
        .send()
        .await
        .unwrap();
    assert_eq!(
        blocked_types(
            &https
                .get_bucket_encryption()
                .bucket("sse-c-bucket")
                .send()
                .await
                .unwrap()
        ),
        ["NONE"]
    );

    let (code, msg) = err(put(&http, &key).send().await);
    assert_eq!(code, "InvalidArgument");
    assert!(
        msg.contains("must be made over a secure connection"),
        "{msg}"
    );

    let out = put(&https, &key).send().await.unwrap();
    assert_eq!(out.sse_customer_algorithm(), Some("AES256"));
    assert_eq!(
        out.server_side_encryption(),
        None,
        "SSE-C responses carry no x-amz-server-side-encryption"
    );
    assert!(out.sse_customer_key_md5().is_some());

    let (code, msg) = err(https
        .get_object()
        .bucket("sse-c-bucket")
        .key("c.txt")
        .send()
        .await);
    assert_eq!(code, "InvalidRequest");
    assert!(
        msg.starts_with("The object was stored using a form of Server Side Encryption."),
        "{msg}"
    );
    let wrong = https
        .get_object()
        .bucket("sse-c-bucket")
        .key("c.txt")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&other))
        .send()
        .await;
    let (code, msg) = err(wrong);
    assert_eq!(code, "AccessDenied");
    assert_eq!(
        msg,
        "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
    );
    let bad_alg = https
        .get_object()
        .bucket("sse-c-bucket")
        .key("c.txt")
        .sse_customer_algorithm("AES128")
        .sse_customer_key(b64(&key))
        .send()
        .await;
    assert_eq!(err(bad_alg).0, "InvalidEncryptionAlgorithmError");
    let got = https
        .get_object()
        .bucket("sse-c-bucket")
        .key("c.txt")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&key))
        .send()
        .await
        .unwrap();
    assert_eq!(got.sse_customer_algorithm(), Some("AES256"));
    assert_eq!(read(got).await, secret.as_bytes());
    assert!(
        https
            .head_object()
            .bucket("sse-c-bucket")
            .key("c.txt")
            .send()
            .await
            .is_err(),
        "HEAD needs the key too"
    );
    https
        .head_object()
        .bucket("sse-c-bucket")
        .key("c.txt")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&key))
        .send()
        .await
        .unwrap();

    let mut raw = Vec::new();
    for entry in walk(lab.dir.path()) {
        raw.extend(std::fs::read(entry).unwrap());
    }
    let found = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(!found(secret.as_bytes()), "no plaintext on disk");
    assert!(
        !found(&key) && !found(b64(&key).as_bytes()),
        "the customer key is never stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_access_blocks_refuse_and_restrict_public_policies() {
    use aws_sdk_s3::types::PublicAccessBlockConfiguration;
    let lab = Lab::start().await;
    let owner = lab.s3("owner-admin");
    let outsider = lab.s3("outsider-admin");
    owner
        .create_bucket()
        .bucket("public-test")
        .send()
        .await
        .unwrap();
    owner
        .put_object()
        .bucket("public-test")
        .key("index.html")
        .body(body("hello"))
        .send()
        .await
        .unwrap();
    let pab = owner
        .get_public_access_block()
        .bucket("public-test")
        .send()
        .await
        .unwrap();
    let c = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "new buckets block public access"
    );
    let public = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::public-test/*"}]}"#;
    let (code, msg) = err(owner
        .put_bucket_policy()
        .bucket("public-test")
        .policy(public)
        .send()
        .await);
    assert_eq!(code, "AccessDenied");
    assert!(msg.contains("BlockPublicPolicy"), "{msg}");
    let restricted = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::public-test/*","Condition":{"StringEquals":{"aws:PrincipalAccount":"444455556666"}}}]}"#;
    owner
        .put_bucket_policy()
        .bucket("public-test")
        .policy(restricted)
        .send()
        .await
        .expect("a principal-restricted policy is not public");

    let only_restrict = PublicAccessBlockConfiguration::builder()
        .block_public_acls(false)
        .ignore_public_acls(false)
        .block_public_policy(false)
        .restrict_public_buckets(true)
        .build();
    owner
        .put_public_access_block()
        .bucket("public-test")
        .public_access_block_configuration(only_restrict)
        .send()
        .await
        .unwrap();
    owner
        .put_bucket_policy()
        .bucket("public-test")
        .policy(public)
        .send()
        .await
        .unwrap();
    let (_, msg) = err(outsider
        .get_object()
        .bucket("public-test")
        .key("index.html")
        .send()
        .await);
    assert!(
        msg.ends_with("because no resource-based policy allows the s3:GetObject action"),
        "RestrictPublicBuckets: {msg}"
    );

    owner
        .delete_public_access_block()
        .bucket("public-test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(owner
            .get_public_access_block()
            .bucket("public-test")
            .send()
            .await)
        .0,
        "NoSuchPublicAccessBlockConfiguration"
    );
    let got = outsider
        .get_object()
        .bucket("public-test")
        .key("index.html")
        .send()
        .await
        .expect("a public policy with no block lets any account read");
    assert_eq!(read(got).await, b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_versioning_is_configured() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    s3.create_bucket().bucket("versioned").send().await.unwrap();
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket("versioned")
            .send()
            .await
            .unwrap()
            .status(),
        None,
        "never enabled"
    );
    let enable = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Enabled)
        .build();
    s3.put_bucket_versioning()
        .bucket("versioned")
        .versioning_configuration(enable)
        .send()
        .await
        .unwrap();
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket("versioned")
            .send()
            .await
            .unwrap()
            .status(),
        Some(&BucketVersioningStatus::Enabled)
    );
    let suspend = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Suspended)
        .build();
    s3.put_bucket_versioning()
        .bucket("versioned")
        .versioning_configuration(suspend)
        .send()
        .await
        .unwrap();
    assert_eq!(
        s3.get_bucket_versioning()
            .bucket("versioned")
            .send()
            .await
            .unwrap()
            .status(),
        Some(&BucketVersioningStatus::Suspended)
    );
    let partner = lab.s3("partner-admin");
    assert_eq!(
        err(partner
            .get_bucket_versioning()
            .bucket("versioned")
            .send()
            .await)
        .0,
        "AccessDenied"
    );
}
