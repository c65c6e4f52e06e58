//! Backend parity: one conformance suite, written once, run through the console against the
//! built-in engine and against LocalStack. LocalStack comes the way CI runs it: through
//! testcontainers, in a container of `KEYLAB_LOCALSTACK_IMAGE` (CI builds
//! `keylab/localstack:4.9.2` with `scripts/localstack-image build`), with no endpoint set; or,
//! when `KEYLAB_LOCALSTACK_ENDPOINT` is set, at that endpoint. What both should do the same is
//! asserted equal; where they differ, each backend's answer is asserted and the table in the
//! README (with AWS's behaviour beside it) must be the one this test generates. Also `keylab
//! verify --backend all`: the verdicts agree on both backends; and one smoke test of host mode
//! (`scripts/localstack-host`, at `KEYLAB_LOCALSTACK_HOST_ENDPOINT`). Under `CI=true` a
//! LocalStack that cannot be had fails these tests.

use std::collections::BTreeMap;

use keylab::backend::Backend;
use keylab::backend::localstack;
use keylab::console::{Console, Outcome};
use keylab_engine::{Engine, EngineConfig};
use serde_json::Value;

/// Where the parity tests find LocalStack.
pub enum Source {
    /// `KEYLAB_LOCALSTACK_ENDPOINT`.
    Endpoint(String),
    /// A container started through testcontainers (the guard removes it).
    Container(localstack::Container),
}

impl Source {
    fn endpoint(&self) -> String {
        match self {
            Source::Endpoint(e) => e.clone(),
            Source::Container(c) => c.running().endpoint.clone(),
        }
    }
}

/// Fails under `CI=true`, otherwise says the test did not run.
pub fn unavailable(why: &str) {
    assert!(
        std::env::var("CI").is_err(),
        "{why} (CI must not skip this test: .ci/run builds the image and sets KEYLAB_LOCALSTACK_IMAGE)"
    );
    eprintln!("{why}: the LocalStack tests did not run");
}

/// LocalStack at `KEYLAB_LOCALSTACK_ENDPOINT`, or a container started now.
async fn source() -> Option<Source> {
    if let Ok(e) = std::env::var("KEYLAB_LOCALSTACK_ENDPOINT")
        && !e.is_empty()
    {
        return Some(Source::Endpoint(e));
    }
    if !localstack::docker_available() {
        unavailable("neither KEYLAB_LOCALSTACK_ENDPOINT nor a Docker daemon is there");
        return None;
    }
    match localstack::start().await {
        Ok(container) => Some(Source::Container(container)),
        Err(e) => {
            unavailable(&format!("LocalStack did not start in Docker: {e}"));
            None
        }
    }
}

fn code(o: &Outcome) -> String {
    match (&o.error_code, o.code) {
        (_, 0) => "allowed".into(),
        (Some(c), _) => c.clone(),
        (None, n) => format!("exit {n}: {}", o.stderr.trim()),
    }
}

fn json(o: &Outcome) -> Value {
    assert_eq!(o.code, 0, "{}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or(Value::Null)
}

/// Runs the suite; returns (behaviour, answer) pairs. `tag` keeps names apart on a shared
/// backend.
async fn observe(
    backend: &Backend,
    work: &std::path::Path,
    tag: &str,
) -> BTreeMap<&'static str, String> {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let owner = Console::new(backend, work, "owner-admin");
    let partner = Console::new(backend, work, "partner-admin");
    let http = format!("--endpoint-url {}", backend.http_endpoint);
    let mut seen = BTreeMap::new();
    std::fs::write(work.join("p.txt"), b"parity plaintext").unwrap();
    std::fs::write(work.join("big.bin"), vec![7u8; 4097]).unwrap();
    std::fs::write(work.join("k1.bin"), [1u8; 32]).unwrap();
    std::fs::write(work.join("k2.bin"), [2u8; 32]).unwrap();

    let key = json(&owner.run("aws kms create-key --description parity").await);
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let key_arn = key["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    seen.insert(
        "new key state",
        key["KeyMetadata"]["KeyState"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    let ct = owner
        .run(&format!("aws kms encrypt --key-id {key_id} --plaintext fileb://p.txt --encryption-context app=parity --query CiphertextBlob --output text > ct.b64"))
        .await;
    assert_eq!(ct.code, 0, "{}", ct.stderr);
    let pt = owner.run("aws kms decrypt --ciphertext-blob file://ct.b64 --encryption-context app=parity --query Plaintext --output text").await;
    seen.insert(
        "decrypt with the same context",
        if pt.stdout.trim() == b64(b"parity plaintext") {
            "plaintext back".into()
        } else {
            code(&pt)
        },
    );
    seen.insert("decrypt with another context", code(&owner.run("aws kms decrypt --ciphertext-blob file://ct.b64 --encryption-context app=other").await));
    seen.insert(
        "encrypt 4,097 bytes",
        code(
            &owner
                .run(&format!(
                    "aws kms encrypt --key-id {key_id} --plaintext fileb://big.bin"
                ))
                .await,
        ),
    );
    let alias = format!("alias/parity-{tag}");
    owner
        .run(&format!(
            "aws kms create-alias --alias-name {alias} --target-key-id {key_id}"
        ))
        .await;
    let via_alias = json(
        &owner
            .run(&format!("aws kms describe-key --key-id {alias}"))
            .await,
    );
    seen.insert(
        "describe-key through an alias",
        if via_alias["KeyMetadata"]["KeyId"] == key_id.as_str() {
            "the key".into()
        } else {
            via_alias.to_string()
        },
    );
    seen.insert(
        "an unknown alias",
        code(
            &owner
                .run(&format!(
                    "aws kms describe-key --key-id alias/missing-{tag}"
                ))
                .await,
        ),
    );
    let dk = owner.run(&format!("aws kms generate-data-key --key-id {key_id} --number-of-bytes 16 --query Plaintext --output text")).await;
    let len = base64::engine::general_purpose::STANDARD
        .decode(dk.stdout.trim())
        .map(|k| k.len())
        .unwrap_or(0);
    seen.insert(
        "GenerateDataKey with NumberOfBytes 16",
        format!("{len}-byte key"),
    );
    seen.insert(
        "another account encrypts with the key (default key policy)",
        code(
            &partner
                .run(&format!(
                    "aws kms encrypt --key-id {key_arn} --plaintext fileb://p.txt"
                ))
                .await,
        ),
    );
    let partner_decrypt = partner
        .run("aws kms decrypt --ciphertext-blob file://ct.b64 --encryption-context app=parity")
        .await;
    seen.insert(
        "another account decrypts without KeyId",
        code(&partner_decrypt),
    );
    seen.insert(
        "put-key-policy without --policy-name",
        code(&owner
            .run(&format!(r#"aws kms put-key-policy --key-id {key_id} --policy '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}}]}}'"#))
            .await),
    );

    // S3 through the same console.
    let bucket = format!("keylab-parity-{tag}");
    assert_eq!(
        owner
            .run(&format!("aws s3api create-bucket --bucket {bucket}"))
            .await
            .code,
        0
    );
    let put = json(
        &owner
            .run(&format!(
                "aws s3api put-object --bucket {bucket} --key a.txt --body p.txt"
            ))
            .await,
    );
    seen.insert(
        "default encryption of a new object",
        put["ServerSideEncryption"]
            .as_str()
            .unwrap_or("none")
            .to_string(),
    );
    let kms_put = json(&owner.run(&format!("aws s3api put-object --bucket {bucket} --key k.txt --body p.txt --server-side-encryption aws:kms --ssekms-key-id {key_id}")).await);
    seen.insert(
        "SSE-KMS object's key id",
        if kms_put["SSEKMSKeyId"] == key_arn.as_str() {
            "the key ARN".into()
        } else {
            kms_put["SSEKMSKeyId"].to_string()
        },
    );
    let sse_c = "--sse-customer-algorithm AES256 --sse-customer-key fileb://k1.bin";
    seen.insert(
        "SSE-C upload to a new bucket",
        code(
            &owner
                .run(&format!(
                    "aws s3api put-object --bucket {bucket} --key c0.txt --body p.txt {sse_c}"
                ))
                .await,
        ),
    );
    let unblock = r#"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BlockedEncryptionTypes":{"EncryptionType":["NONE"]}}]}"#;
    owner.run(&format!("aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration '{unblock}'")).await;
    seen.insert(
        "SSE-C upload over plain HTTP",
        code(&owner.run(&format!("aws s3api put-object --bucket {bucket} --key c1.txt --body p.txt {sse_c} {http}")).await),
    );
    let c = owner
        .run(&format!(
            "aws s3api put-object --bucket {bucket} --key c.txt --body p.txt {sse_c}"
        ))
        .await;
    assert_eq!(c.code, 0, "SSE-C upload on {}: {}", backend.name, c.stderr);
    seen.insert(
        "SSE-C GET without the key",
        code(
            &owner
                .run(&format!(
                    "aws s3api get-object --bucket {bucket} --key c.txt out.txt"
                ))
                .await,
        ),
    );
    seen.insert(
        "SSE-C GET with another key",
        code(&owner.run(&format!("aws s3api get-object --bucket {bucket} --key c.txt out.txt --sse-customer-algorithm AES256 --sse-customer-key fileb://k2.bin")).await),
    );
    owner
        .run(&format!("aws kms disable-key --key-id {key_id}"))
        .await;
    seen.insert(
        "encrypt with a disabled key",
        code(
            &owner
                .run(&format!(
                    "aws kms encrypt --key-id {key_id} --plaintext fileb://p.txt"
                ))
                .await,
        ),
    );
    seen.insert(
        "SSE-KMS upload with a disabled key",
        code(&owner.run(&format!("aws s3api put-object --bucket {bucket} --key d.txt --body p.txt --server-side-encryption aws:kms --ssekms-key-id {key_id}")).await),
    );
    seen.insert(
        "a 6-day deletion window",
        code(
            &owner
                .run(&format!(
                    "aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 6"
                ))
                .await,
        ),
    );
    owner
        .run(&format!(
            "aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 7"
        ))
        .await;
    seen.insert(
        "encrypt with a key pending deletion",
        code(
            &owner
                .run(&format!(
                    "aws kms encrypt --key-id {key_id} --plaintext fileb://p.txt"
                ))
                .await,
        ),
    );
    owner
        .run(&format!("aws kms cancel-key-deletion --key-id {key_id}"))
        .await;
    let state = json(
        &owner
            .run(&format!("aws kms describe-key --key-id {key_id}"))
            .await,
    );
    seen.insert(
        "state after CancelKeyDeletion",
        state["KeyMetadata"]["KeyState"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );

    let deny_http = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    );
    owner
        .run(&format!(
            "aws s3api put-bucket-policy --bucket {bucket} --policy '{deny_http}'"
        ))
        .await;
    seen.insert(
        "upload over plain HTTP under a deny-insecure-transport policy",
        code(
            &owner
                .run(&format!(
                    "aws s3api put-object --bucket {bucket} --key h.txt --body p.txt {http}"
                ))
                .await,
        ),
    );
    owner
        .run(&format!("aws s3api delete-bucket-policy --bucket {bucket}"))
        .await;
    owner
        .run(&format!(
            "aws s3api delete-bucket-encryption --bucket {bucket}"
        ))
        .await;
    let after = owner
        .run(&format!(
            "aws s3api put-object --bucket {bucket} --key e.txt --body p.txt"
        ))
        .await;
    seen.insert(
        "a new object after DeleteBucketEncryption",
        serde_json::from_str::<Value>(&after.stdout)
            .ok()
            .and_then(|v| v["ServerSideEncryption"].as_str().map(str::to_string))
            .unwrap_or_else(|| "not encrypted".into()),
    );
    seen
}

/// Where the backends differ, with what AWS does (aws-semantics.md §1–§3).
const DIFFERENCES: &[(&str, &str)] = &[
    ("GenerateDataKey with NumberOfBytes 16", "16-byte key"),
    (
        "another account encrypts with the key (default key policy)",
        "AccessDeniedException",
    ),
    (
        "another account decrypts without KeyId",
        "AccessDeniedException",
    ),
    ("put-key-policy without --policy-name", "allowed"),
    ("SSE-C upload to a new bucket", "AccessDenied"),
    ("SSE-C upload over plain HTTP", "refused (HTTPS only)"),
    (
        "upload over plain HTTP under a deny-insecure-transport policy",
        "AccessDenied",
    ),
    ("a new object after DeleteBucketEncryption", "AES256"),
    (
        "SSE-KMS upload with a disabled key",
        "KMS.DisabledException",
    ),
];

fn table(engine: &BTreeMap<&str, String>, localstack: &BTreeMap<&str, String>) -> String {
    let mut out =
        String::from("| behaviour | AWS | keylab engine | LocalStack 4.9.2 |\n|---|---|---|---|\n");
    for (name, aws) in DIFFERENCES {
        out.push_str(&format!(
            "| {name} | {aws} | {} | {} |\n",
            engine[name], localstack[name]
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_and_localstack_agree_and_their_differences_are_documented() {
    let Some(source) = source().await else { return };
    let endpoint = source.endpoint();
    let state = tempfile::tempdir().unwrap();
    let engine = Engine::start(EngineConfig::new(state.path()))
        .await
        .unwrap();
    let engine_backend = Backend::from_engine(&engine);
    let work = tempfile::tempdir().unwrap();
    let on_engine = observe(&engine_backend, work.path(), "engine").await;
    let tag = hex::encode(rand::random::<[u8; 4]>());
    let localstack = Backend::endpoint("localstack", &endpoint, "us-east-1").unwrap();
    let work = tempfile::tempdir().unwrap();
    let on_localstack = observe(&localstack, work.path(), &tag).await;

    let differing: Vec<&str> = DIFFERENCES.iter().map(|(n, _)| *n).collect();
    for (name, answer) in &on_engine {
        if differing.contains(name) {
            continue;
        }
        assert_eq!(
            Some(answer),
            on_localstack.get(name),
            "{name}: the backends should agree"
        );
    }
    let expected_engine: BTreeMap<&str, &str> = BTreeMap::from([
        ("new key state", "Enabled"),
        ("decrypt with the same context", "plaintext back"),
        ("decrypt with another context", "InvalidCiphertextException"),
        ("encrypt 4,097 bytes", "ValidationException"),
        ("describe-key through an alias", "the key"),
        ("an unknown alias", "NotFoundException"),
        ("default encryption of a new object", "AES256"),
        ("SSE-KMS object's key id", "the key ARN"),
        ("SSE-C GET without the key", "InvalidRequest"),
        ("SSE-C GET with another key", "AccessDenied"),
        ("encrypt with a disabled key", "DisabledException"),
        ("a 6-day deletion window", "ValidationException"),
        (
            "encrypt with a key pending deletion",
            "KMSInvalidStateException",
        ),
        ("state after CancelKeyDeletion", "Disabled"),
    ]);
    for (name, want) in &expected_engine {
        assert_eq!(on_engine[name], *want, "engine: {name}");
    }
    for (name, aws) in DIFFERENCES {
        let engine_matches_aws =
            on_engine[name] == *aws || (aws.starts_with("refused") && on_engine[name] != "allowed");
        assert!(
            engine_matches_aws,
            "the engine should do what AWS does for {name}: {}",
            on_engine[name]
        );
        assert_ne!(
            on_engine[name], on_localstack[name],
            "{name}: listed as a difference, but LocalStack now agrees"
        );
    }
    let generated = table(&on_engine, &on_localstack);
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/parity-table.md"),
        &generated,
    );
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(
        readme.contains(&generated),
        "the README's parity table is out of date; the current one (also in target/parity-table.md):\n{generated}"
    );
    engine.shutdown().await;
    drop(source);
}

#[test]
fn verify_gives_the_same_verdicts_on_both_backends() {
    let data = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_keylab"));
    command
        .args(["verify", "--backend", "all", "--format", "json"])
        .env("KEYLAB_DATA_DIR", data.path());
    // With no endpoint, keylab starts LocalStack through testcontainers itself.
    match std::env::var("KEYLAB_LOCALSTACK_ENDPOINT") {
        Ok(e) if !e.is_empty() => {}
        _ if localstack::docker_available() => {}
        _ => return unavailable("neither KEYLAB_LOCALSTACK_ENDPOINT nor a Docker daemon is there"),
    }
    let out = command.output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tests = report["tests"].as_array().unwrap();
    let verdicts = |backend: &str| -> BTreeMap<String, String> {
        tests
            .iter()
            .filter_map(|t| {
                let name = t["name"].as_str()?;
                let short = name.replace(&format!(" [{backend}]"), "");
                (short != name)
                    .then(|| (short, t["status"].as_str().unwrap_or_default().to_string()))
            })
            .collect()
    };
    let engine = verdicts("engine");
    let localstack = verdicts("localstack");
    assert!(
        localstack.len() >= 11,
        "the exercises marked for LocalStack ran there: {localstack:?}"
    );
    for (stage, verdict) in &localstack {
        assert_eq!(engine.get(stage), Some(verdict), "{stage}");
    }
    let missing = report["x-keylab"]["localstack"]["missing_capabilities"]
        .as_array()
        .unwrap();
    assert!(
        missing.iter().any(|m| m == "bucket_policies"),
        "the probe finds that LocalStack does not enforce bucket policies"
    );
}
