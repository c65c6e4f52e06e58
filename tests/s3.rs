//! End-to-end tests of the engine's S3 through `aws-sdk-s3` (HTTP and HTTPS): buckets, objects
//! encrypted at rest, default bucket encryption, SSE-KMS through the engine's KMS, and bucket
//! policies evaluated with the transport and encryption-header condition keys.

use crate::common::{Lab, OWNER, PARTNER, create_key, err};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

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

    // A multipart upload is judged by the headers that initiated it: its parts carry none.
    assert_eq!(
        err(s3
            .create_multipart_upload()
            .bucket("enc-only")
            .key("m")
            .send()
            .await)
        .0,
        "AccessDenied"
    );
    let upload = s3
        .create_multipart_upload()
        .bucket("enc-only")
        .key("m")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let part = s3
        .upload_part()
        .bucket("enc-only")
        .key("m")
        .upload_id(id)
        .part_number(1)
        .body(body("part"))
        .send()
        .await
        .expect("the part inherits the initiation's encryption header");
    complete(
        &s3,
        "enc-only",
        "m",
        id,
        &[(1, part.e_tag().unwrap().to_string())],
    )
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

const MIB: usize = 1024 * 1024;

async fn complete(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[(i32, String)],
) -> Result<
    aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput,
    aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadError,
    >,
> {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let parts = parts
        .iter()
        .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
        .collect::<Vec<_>>();
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_encrypt_every_part_and_need_kms_decrypt() {
    let lab = Lab::start().await;
    let admin = lab.s3("owner-admin");
    let key = create_key(&lab.kms("owner-admin")).await;
    admin.create_bucket().bucket("big").send().await.unwrap();
    let first = vec![b'a'; 5 * MIB];
    let second = b"the tail of a large file".to_vec();

    let created = admin
        .create_multipart_upload()
        .bucket("big")
        .key("data.bin")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .metadata("source", "batch")
        .send()
        .await
        .unwrap();
    assert_eq!(created.ssekms_key_id(), Some(key.as_str()));
    let upload_id = created.upload_id().unwrap().to_string();
    let mut etags = Vec::new();
    for (n, data) in [(1, &first), (2, &second)] {
        let part = admin
            .upload_part()
            .bucket("big")
            .key("data.bin")
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            part.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms)
        );
        etags.push((n, part.e_tag().unwrap().to_string()));
    }
    let (code, _) = err(complete(
        &admin,
        "big",
        "data.bin",
        &upload_id,
        &[etags[1].clone(), etags[0].clone()],
    )
    .await);
    assert_eq!(code, "InvalidPartOrder");
    let (code, _) = err(complete(
        &admin,
        "big",
        "data.bin",
        &upload_id,
        &[(1, "\"0000\"".into()), etags[1].clone()],
    )
    .await);
    assert_eq!(code, "InvalidPart", "a wrong ETag names no uploaded part");
    let done = complete(&admin, "big", "data.bin", &upload_id, &etags)
        .await
        .unwrap();
    assert!(
        done.e_tag().unwrap().trim_matches('"').ends_with("-2"),
        "{:?}",
        done.e_tag()
    );
    assert_eq!(done.ssekms_key_id(), Some(key.as_str()));

    let got = admin
        .get_object()
        .bucket("big")
        .key("data.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.metadata().unwrap().get("source").map(String::as_str),
        Some("batch")
    );
    assert_eq!(got.ssekms_key_id(), Some(key.as_str()));
    let whole = read(got).await;
    assert_eq!(whole.len(), first.len() + second.len());
    assert_eq!(&whole[5 * MIB..], &second[..]);
    let ranged = admin
        .get_object()
        .bucket("big")
        .key("data.bin")
        .range(format!("bytes={}-{}", 5 * MIB - 2, 5 * MIB + 2))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ranged.content_range(),
        Some(format!("bytes {}-{}/{}", 5 * MIB - 2, 5 * MIB + 2, whole.len()).as_str())
    );
    assert_eq!(read(ranged).await, b"aathe");
    let (code, _) = err(admin
        .get_object()
        .bucket("big")
        .key("data.bin")
        .range("bytes=99999999-")
        .send()
        .await);
    assert_eq!(code, "InvalidRange");
    let found = walk(lab.dir.path()).into_iter().any(|f| {
        std::fs::read(&f)
            .unwrap()
            .windows(24)
            .any(|w| w == &second[..])
    });
    assert!(!found, "parts are encrypted at rest");

    // A part smaller than 5 MiB may only be the last one.
    let small = admin
        .create_multipart_upload()
        .bucket("big")
        .key("small")
        .send()
        .await
        .unwrap();
    let id = small.upload_id().unwrap();
    let mut parts = Vec::new();
    for n in 1..=2 {
        let p = admin
            .upload_part()
            .bucket("big")
            .key("small")
            .upload_id(id)
            .part_number(n)
            .body(body("tiny"))
            .send()
            .await
            .unwrap();
        parts.push((n, p.e_tag().unwrap().to_string()));
    }
    assert_eq!(
        err(complete(&admin, "big", "small", id, &parts).await).0,
        "EntityTooSmall"
    );
    admin
        .abort_multipart_upload()
        .bucket("big")
        .key("small")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    let (code, _) = err(admin
        .upload_part()
        .bucket("big")
        .key("small")
        .upload_id(id)
        .part_number(3)
        .body(body("late"))
        .send()
        .await);
    assert_eq!(code, "NoSuchUpload");

    // An analyst allowed s3:PutObject and kms:GenerateDataKey can PUT with SSE-KMS, but a
    // multipart upload also needs kms:Decrypt: every part decrypts the upload's data key.
    lab.engine
        .put_identity_policy(
            "owner-analyst",
            "UseOwnKeys",
            &format!(r#"{{"Statement":[{{"Effect":"Allow","Action":["s3:PutObject","kms:GenerateDataKey"],"Resource":["arn:aws:s3:::big/*","{key}"]}}]}}"#),
        )
        .unwrap();
    let analyst = lab.s3("owner-analyst");
    analyst
        .put_object()
        .bucket("big")
        .key("single")
        .body(body("one shot"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .expect("a single PUT needs only kms:GenerateDataKey");
    let created = analyst
        .create_multipart_upload()
        .bucket("big")
        .key("multi")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
    let (code, msg) = err(analyst
        .upload_part()
        .bucket("big")
        .key("multi")
        .upload_id(created.upload_id().unwrap())
        .part_number(1)
        .body(body("part"))
        .send()
        .await);
    assert_eq!(code, "AccessDenied");
    assert!(msg.contains("kms:Decrypt"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_with_sse_c_need_the_same_key_on_every_part() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let lab = Lab::start().await;
    let s3 = lab.s3_https("owner-admin");
    s3.create_bucket().bucket("ssec-mpu").send().await.unwrap();
    s3.put_bucket_encryption()
        .bucket("ssec-mpu")
        .server_side_encryption_configuration(unblock_sse_c())
        .send()
        .await
        .unwrap();
    let (key, other) = ([7u8; 32], [8u8; 32]);
    let created = s3
        .create_multipart_upload()
        .bucket("ssec-mpu")
        .key("k")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&key))
        .send()
        .await
        .unwrap();
    let id = created.upload_id().unwrap();
    let part = |n: i32| {
        s3.upload_part()
            .bucket("ssec-mpu")
            .key("k")
            .upload_id(id)
            .part_number(n)
            .body(body("secret part"))
    };
    let (code, msg) = err(part(1).send().await);
    assert_eq!(code, "InvalidRequest");
    assert_eq!(
        msg,
        "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
    );
    let (code, msg) = err(part(1)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&other))
        .send()
        .await);
    assert_eq!(code, "InvalidRequest");
    assert_eq!(
        msg,
        "The provided encryption parameters did not match the ones used originally."
    );
    let uploaded = part(1)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&key))
        .send()
        .await
        .unwrap();
    complete(
        &s3,
        "ssec-mpu",
        "k",
        id,
        &[(1, uploaded.e_tag().unwrap().to_string())],
    )
    .await
    .unwrap();
    let (code, _) = err(s3.get_object().bucket("ssec-mpu").key("k").send().await);
    assert_eq!(code, "InvalidRequest");
    let got = s3
        .get_object()
        .bucket("ssec-mpu")
        .key("k")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&key))
        .send()
        .await
        .unwrap();
    assert_eq!(read(got).await, b"secret part");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_re_encrypts_and_checks_both_ends() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let lab = Lab::start().await;
    let s3 = lab.s3_https("owner-admin");
    let key = create_key(&lab.kms("owner-admin")).await;
    s3.create_bucket().bucket("src").send().await.unwrap();
    s3.put_object()
        .bucket("src")
        .key("plain.csv")
        .body(body("id,name"))
        .content_type("text/csv")
        .metadata("team", "data")
        .send()
        .await
        .unwrap();

    let (code, msg) = err(s3
        .copy_object()
        .bucket("src")
        .key("plain.csv")
        .copy_source("src/plain.csv")
        .send()
        .await);
    assert_eq!(code, "InvalidRequest");
    assert!(msg.contains("copy an object to itself"), "{msg}");
    // Copying in place with new encryption is how existing objects are re-encrypted.
    let copied = s3
        .copy_object()
        .bucket("src")
        .key("plain.csv")
        .copy_source("src/plain.csv")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(copied.ssekms_key_id(), Some(key.as_str()));
    let head = s3
        .head_object()
        .bucket("src")
        .key("plain.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(
        head.content_type(),
        Some("text/csv"),
        "COPY keeps the metadata"
    );
    assert_eq!(
        head.metadata().unwrap().get("team").map(String::as_str),
        Some("data")
    );

    let replaced = s3
        .copy_object()
        .bucket("src")
        .key("renamed.csv")
        .copy_source("src/plain.csv")
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .metadata("team", "finance")
        .send()
        .await
        .unwrap();
    assert_eq!(
        replaced.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256),
        "the target takes the bucket's default, not the source's encryption"
    );
    let head = s3
        .head_object()
        .bucket("src")
        .key("renamed.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata().unwrap().get("team").map(String::as_str),
        Some("finance")
    );

    // An SSE-C source needs the copy-source key headers.
    s3.put_bucket_encryption()
        .bucket("src")
        .server_side_encryption_configuration(unblock_sse_c())
        .send()
        .await
        .unwrap();
    let customer = [9u8; 32];
    s3.put_object()
        .bucket("src")
        .key("c.bin")
        .body(body("customer secret"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(b64(&customer))
        .send()
        .await
        .unwrap();
    let (code, msg) = err(s3
        .copy_object()
        .bucket("src")
        .key("c-copy.bin")
        .copy_source("src/c.bin")
        .send()
        .await);
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        )
    );
    s3.copy_object()
        .bucket("src")
        .key("c-copy.bin")
        .copy_source("src/c.bin")
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(b64(&customer))
        .server_side_encryption(ServerSideEncryption::AwsKmsDsse)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("src")
        .key("c-copy.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKmsDsse)
    );
    assert_eq!(read(got).await, b"customer secret");

    // The caller needs s3:GetObject on the source as well as s3:PutObject on the target.
    let partner = lab.s3_https("partner-admin");
    partner
        .create_bucket()
        .bucket("partner-dst")
        .send()
        .await
        .unwrap();
    let (code, msg) = err(partner
        .copy_object()
        .bucket("partner-dst")
        .key("stolen.csv")
        .copy_source("src/renamed.csv")
        .send()
        .await);
    assert_eq!(code, "AccessDenied");
    assert!(
        msg.contains("s3:GetObject") && msg.contains("arn:aws:s3:::src/renamed.csv"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_kms_without_a_key_uses_the_aws_managed_key_which_stays_in_its_account() {
    let lab = Lab::start().await;
    let s3 = lab.s3("owner-admin");
    s3.create_bucket().bucket("managed").send().await.unwrap();
    let put = s3
        .put_object()
        .bucket("managed")
        .key("a.txt")
        .body(body("managed key data"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .await
        .unwrap();
    let managed = put.ssekms_key_id().unwrap().to_string();
    let kms = lab.kms("owner-admin");
    let aliases = kms.list_aliases().send().await.unwrap();
    let alias = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some("alias/aws/s3"))
        .expect("aws/s3 is made on first use");
    assert!(managed.ends_with(alias.target_key_id().unwrap()));
    let described = kms
        .describe_key()
        .key_id("alias/aws/s3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.key_metadata().unwrap().key_manager(),
        Some(&aws_sdk_kms::types::KeyManagerType::Aws)
    );
    let again = s3
        .put_object()
        .bucket("managed")
        .key("b.txt")
        .body(body("more"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.ssekms_key_id(),
        Some(managed.as_str()),
        "one key per account"
    );
    let (code, _) = err(kms.disable_key().key_id(&managed).send().await);
    assert_eq!(
        code, "AccessDeniedException",
        "AWS managed keys are not yours to manage"
    );

    // The partner may read the object (bucket policy and identity policy allow it), but the
    // AWS managed key's policy admits only its own account through S3.
    s3.put_bucket_policy()
        .bucket("managed")
        .policy(format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::managed/*"}}]}}"#))
        .send()
        .await
        .unwrap();
    let partner = lab.s3("partner-admin");
    let (code, msg) = err(partner
        .get_object()
        .bucket("managed")
        .key("a.txt")
        .send()
        .await);
    assert_eq!(code, "AccessDenied");
    assert!(
        msg.contains("kms:Decrypt") && msg.contains(&managed),
        "{msg}"
    );
    let got = s3
        .get_object()
        .bucket("managed")
        .key("a.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(read(got).await, b"managed key data");
}

/// Resolves every name to loopback, as `*.localhost` does where the resolver honours RFC 6761.
#[derive(Debug, Clone)]
struct Loopback;

impl aws_smithy_runtime_api::client::dns::ResolveDns for Loopback {
    fn resolve_dns<'a>(
        &'a self,
        _name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(Ok(vec![
            std::net::Ipv4Addr::LOCALHOST.into(),
        ]))
    }
}

fn virtual_hosted_client(lab: &Lab, https: bool) -> aws_sdk_s3::Client {
    use aws_smithy_http_client::tls::{
        Provider, TlsContext, TrustStore, rustls_provider::CryptoMode,
    };
    let settings =
        keylab::backend::sdk::engine_settings(&lab.engine, "owner-admin", https).unwrap();
    let port = settings.endpoint.rsplit(':').next().unwrap().to_string();
    let scheme = if https { "https" } else { "http" };
    let store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(lab.engine.ca_cert_pem().as_bytes().to_vec());
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(store)
                .build()
                .unwrap(),
        )
        .build_with_resolver(Loopback);
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(settings.region.clone()))
        .endpoint_url(format!("{scheme}://s3.localhost:{port}"))
        .credentials_provider(aws_credential_types::Credentials::new(
            settings.access_key_id,
            settings.secret_access_key,
            None,
            None,
            "test",
        ))
        .http_client(http)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_hosted_style_addressing_works_over_http_and_https() {
    let lab = Lab::start().await;
    for (https, bucket) in [(false, "vhost-http"), (true, "vhost-https")] {
        let s3 = virtual_hosted_client(&lab, https);
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        s3.put_object()
            .bucket(bucket)
            .key("dir/a.txt")
            .body(body("hosted"))
            .send()
            .await
            .unwrap();
        let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        assert_eq!(listed.contents()[0].key(), Some("dir/a.txt"));
        let got = s3
            .get_object()
            .bucket(bucket)
            .key("dir/a.txt")
            .send()
            .await
            .unwrap();
        assert_eq!(read(got).await, b"hosted");
        // The path-style client sees the same bucket.
        let path_style = lab.s3("owner-admin");
        path_style
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    }
}
