//! Tests of the `keylab` binary: `engine serve --json` driven by a client keylab did not write
//! (the real AWS CLI, installed by `scripts/setup-test-tools`), `engine audit`, `engine reset`,
//! and the errors a user sees for bad input.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

const KEYLAB: &str = env!("CARGO_BIN_EXE_keylab");

/// The AWS CLI to drive: `KEYLAB_AWS_CLI`, else the one `scripts/setup-test-tools` installs.
/// Missing under CI=true is a failure; elsewhere the test says loudly that it did not run.
pub(crate) fn aws_cli() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("KEYLAB_AWS_CLI").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/aws")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.exists());
    if found.is_none() {
        let msg = "the AWS CLI is not installed: run `bash scripts/setup-test-tools` (or set KEYLAB_AWS_CLI)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("NOT RUN: {msg}");
    }
    found
}

pub(crate) struct Server {
    child: Child,
    pub(crate) info: Value,
}

impl Server {
    pub(crate) fn start(state_dir: &Path) -> Server {
        let mut child = Command::new(KEYLAB)
            .args([
                "engine",
                "serve",
                "--json",
                "--port",
                "0",
                "--tls-port",
                "0",
                "--state-dir",
            ])
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("keylab starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("first line is JSON ({e}): {line}"));
        Server { child, info }
    }

    fn identity(&self, name: &str) -> &Value {
        self.info["identities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Aws<'a> {
    cli: PathBuf,
    server: &'a Server,
    work: PathBuf,
}

impl Aws<'_> {
    fn run(&self, profile: &str, https: bool, args: &[&str]) -> Output {
        let id = self.server.identity(profile);
        let endpoint = if https {
            &self.server.info["https"]
        } else {
            &self.server.info["http"]
        };
        let mut cmd = Command::new(&self.cli);
        cmd.arg("--endpoint-url")
            .arg(endpoint.as_str().unwrap())
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.work)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", id["access_key_id"].as_str().unwrap())
            .env(
                "AWS_SECRET_ACCESS_KEY",
                id["secret_access_key"].as_str().unwrap(),
            )
            .env(
                "AWS_DEFAULT_REGION",
                self.server.info["region"].as_str().unwrap(),
            );
        if https {
            cmd.env(
                "AWS_CA_BUNDLE",
                self.server.info["ca_cert"].as_str().unwrap(),
            );
        }
        cmd.output().expect("aws runs")
    }

    fn ok(&self, profile: &str, https: bool, args: &[&str]) -> String {
        let out = self.run(profile, https, args);
        assert!(
            out.status.success(),
            "aws {args:?} as {profile} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn fails(&self, profile: &str, https: bool, args: &[&str]) -> String {
        let out = self.run(profile, https, args);
        assert!(
            !out.status.success(),
            "aws {args:?} as {profile} should fail"
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

#[test]
fn the_aws_cli_works_against_engine_serve() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    assert_eq!(server.info["region"], "us-east-1");
    assert!(Path::new(server.info["ca_cert"].as_str().unwrap()).exists());
    assert_eq!(server.info["identities"].as_array().unwrap().len(), 6);
    let aws = Aws {
        cli,
        server: &server,
        work: work.path().to_path_buf(),
    };

    let arn = aws.ok(
        "owner-admin",
        false,
        &[
            "kms",
            "create-key",
            "--description",
            "cli",
            "--query",
            "KeyMetadata.Arn",
            "--output",
            "text",
        ],
    );
    assert!(
        arn.starts_with("arn:aws:kms:us-east-1:111122223333:key/"),
        "{arn}"
    );
    aws.ok(
        "owner-admin",
        false,
        &[
            "kms",
            "create-alias",
            "--alias-name",
            "alias/cli",
            "--target-key-id",
            &arn,
        ],
    );

    std::fs::write(work.path().join("plain.txt"), b"account 12345").unwrap();
    let ct = aws.ok(
        "owner-admin",
        true,
        &[
            "kms",
            "encrypt",
            "--key-id",
            "alias/cli",
            "--plaintext",
            "fileb://plain.txt",
            "--encryption-context",
            "purpose=test",
            "--query",
            "CiphertextBlob",
            "--output",
            "text",
        ],
    );
    std::fs::write(work.path().join("ct.bin"), STANDARD.decode(&ct).unwrap()).unwrap();
    let plain = aws.ok(
        "owner-admin",
        true,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            "fileb://ct.bin",
            "--encryption-context",
            "purpose=test",
            "--query",
            "Plaintext",
            "--output",
            "text",
        ],
    );
    assert_eq!(STANDARD.decode(plain).unwrap(), b"account 12345");
    let err = aws.fails(
        "owner-admin",
        false,
        &["kms", "decrypt", "--ciphertext-blob", "fileb://ct.bin"],
    );
    assert!(err.contains("InvalidCiphertextException"), "{err}");

    let dk: Value = serde_json::from_str(&aws.ok(
        "owner-admin",
        false,
        &[
            "kms",
            "generate-data-key",
            "--key-id",
            &arn,
            "--key-spec",
            "AES_256",
        ],
    ))
    .unwrap();
    let data_key = STANDARD.decode(dk["Plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(data_key.len(), 32);
    std::fs::write(
        work.path().join("dk.bin"),
        STANDARD
            .decode(dk["CiphertextBlob"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let back = aws.ok(
        "owner-admin",
        false,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            "fileb://dk.bin",
            "--query",
            "Plaintext",
            "--output",
            "text",
        ],
    );
    assert_eq!(STANDARD.decode(back).unwrap(), data_key);

    let err = aws.fails(
        "partner-admin",
        true,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            "fileb://ct.bin",
            "--encryption-context",
            "purpose=test",
        ],
    );
    assert!(
        err.contains("AccessDeniedException")
            && err.contains("no resource-based policy allows the kms:Decrypt action"),
        "{err}"
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}"#;
    std::fs::write(work.path().join("policy.json"), policy).unwrap();
    aws.ok(
        "owner-admin",
        false,
        &[
            "kms",
            "put-key-policy",
            "--key-id",
            &arn,
            "--policy-name",
            "default",
            "--policy",
            "file://policy.json",
        ],
    );
    let plain = aws.ok(
        "partner-admin",
        true,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            "fileb://ct.bin",
            "--encryption-context",
            "purpose=test",
            "--query",
            "Plaintext",
            "--output",
            "text",
        ],
    );
    assert_eq!(
        STANDARD.decode(plain).unwrap(),
        b"account 12345",
        "cross-account decrypt without KeyId once both policies allow"
    );
    let err = aws.fails(
        "partner-admin",
        false,
        &["kms", "schedule-key-deletion", "--key-id", &arn],
    );
    assert!(err.contains("AccessDeniedException"), "{err}");

    let audit = Command::new(KEYLAB)
        .args(["engine", "audit", "--denied", "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    assert!(audit.status.success());
    let text = String::from_utf8(audit.stdout).unwrap();
    assert!(
        text.contains("Decrypt") && text.contains("AccessDeniedException") && text.contains("=> "),
        "{text}"
    );
    assert!(!text.contains("account 12345"));
}

#[test]
fn state_persists_across_a_killed_engine_and_reset_clears_it() {
    let state = tempfile::tempdir().unwrap();
    let first = Server::start(state.path());
    let secret = first.identity("owner-admin")["secret_access_key"]
        .as_str()
        .unwrap()
        .to_string();
    drop(first);
    let second = Server::start(state.path());
    assert_eq!(
        second.identity("owner-admin")["secret_access_key"],
        secret.as_str()
    );
    let busy = Command::new(KEYLAB)
        .args(["engine", "reset", "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    assert_eq!(
        busy.status.code(),
        Some(1),
        "reset refuses while an engine runs"
    );
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("in use by another running keylab engine")
    );
    drop(second);
    let out = Command::new(KEYLAB)
        .args(["engine", "reset", "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let left: Vec<_> = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.iter().all(|n| n == ".lock"),
        "only the lock file is left: {left:?}"
    );
    let third = Server::start(state.path());
    assert_ne!(
        third.identity("owner-admin")["secret_access_key"],
        secret.as_str(),
        "reset generates new secrets"
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.toml");
    std::fs::write(
        &ids,
        "format_version = 1\n[[account]]\nname = \"a\"\nid = \"1234\"\n",
    )
    .unwrap();
    let out = Command::new(KEYLAB)
        .args([
            "engine",
            "serve",
            "--port",
            "0",
            "--tls-port",
            "0",
            "--state-dir",
        ])
        .arg(dir.path().join("state"))
        .arg("--identities")
        .arg(&ids)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("ids.toml") && err.contains("must be 12 digits"),
        "{err}"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = Command::new(KEYLAB)
        .args([
            "engine",
            "serve",
            "--port",
            &port,
            "--tls-port",
            "0",
            "--state-dir",
        ])
        .arg(dir.path().join("state2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("--port 0"),
        "{err}"
    );

    let out = Command::new(KEYLAB)
        .args(["engine", "serve", "--port", "not-a-port"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("--port"));

    let out = Command::new(KEYLAB)
        .args(["engine", "audit", "--state-dir"])
        .arg(dir.path().join("nothing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("audit.jsonl")
    );
}

#[test]
fn the_aws_cli_works_against_engine_s3() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let aws = Aws {
        cli,
        server: &server,
        work: work.path().to_path_buf(),
    };
    std::fs::write(work.path().join("data.csv"), b"id,ssn\n1,900-00-0001\n").unwrap();

    aws.ok("owner-admin", true, &["s3", "mb", "s3://cli-bucket"]);
    let key = aws.ok(
        "owner-admin",
        false,
        &[
            "kms",
            "create-key",
            "--query",
            "KeyMetadata.Arn",
            "--output",
            "text",
        ],
    );
    let config = format!(
        r#"{{"Rules":[{{"ApplyServerSideEncryptionByDefault":{{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"{key}"}},"BucketKeyEnabled":true}}]}}"#
    );
    aws.ok(
        "owner-admin",
        true,
        &[
            "s3api",
            "put-bucket-encryption",
            "--bucket",
            "cli-bucket",
            "--server-side-encryption-configuration",
            &config,
        ],
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::cli-bucket","arn:aws:s3:::cli-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
    aws.ok(
        "owner-admin",
        true,
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "cli-bucket",
            "--policy",
            policy,
        ],
    );

    aws.ok(
        "owner-admin",
        true,
        &["s3", "cp", "data.csv", "s3://cli-bucket/data.csv"],
    );
    let head: Value = serde_json::from_str(&aws.ok(
        "owner-admin",
        true,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "cli-bucket",
            "--key",
            "data.csv",
        ],
    ))
    .unwrap();
    assert_eq!(head["ServerSideEncryption"], "aws:kms");
    assert_eq!(head["SSEKMSKeyId"], key.as_str());
    aws.ok(
        "owner-admin",
        true,
        &["s3", "cp", "s3://cli-bucket/data.csv", "back.csv"],
    );
    assert_eq!(
        std::fs::read(work.path().join("back.csv")).unwrap(),
        b"id,ssn\n1,900-00-0001\n"
    );

    let err = aws.fails(
        "owner-admin",
        false,
        &["s3", "cp", "data.csv", "s3://cli-bucket/plain.csv"],
    );
    assert!(
        err.contains("AccessDenied") && err.contains("explicit deny in a resource-based policy"),
        "{err}"
    );
    aws.ok("owner-admin", true, &["s3", "mb", "s3://cli-sse-c"]);
    let unblock = r#"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BlockedEncryptionTypes":{"EncryptionType":["NONE"]}}]}"#;
    std::fs::write(work.path().join("customer.key"), [0x5au8; 32]).unwrap();
    let sse_c = ["--sse-c", "AES256", "--sse-c-key", "fileb://customer.key"];
    let blocked = aws.fails(
        "owner-admin",
        true,
        &[
            &["s3", "cp", "data.csv", "s3://cli-sse-c/c.csv"][..],
            &sse_c[..],
        ]
        .concat(),
    );
    assert!(
        blocked.contains("AccessDenied"),
        "new buckets block SSE-C: {blocked}"
    );
    aws.ok(
        "owner-admin",
        true,
        &[
            "s3api",
            "put-bucket-encryption",
            "--bucket",
            "cli-sse-c",
            "--server-side-encryption-configuration",
            unblock,
        ],
    );
    aws.ok(
        "owner-admin",
        true,
        &[
            &["s3", "cp", "data.csv", "s3://cli-sse-c/c.csv"][..],
            &sse_c[..],
        ]
        .concat(),
    );
    aws.ok(
        "owner-admin",
        true,
        &[
            &["s3", "cp", "s3://cli-sse-c/c.csv", "c-back.csv"][..],
            &sse_c[..],
        ]
        .concat(),
    );
    assert_eq!(
        std::fs::read(work.path().join("c-back.csv")).unwrap(),
        b"id,ssn\n1,900-00-0001\n"
    );
    let no_key = aws.fails(
        "owner-admin",
        true,
        &["s3", "cp", "s3://cli-sse-c/c.csv", "nokey.csv"],
    );
    assert!(
        no_key.contains("400") || no_key.contains("Bad Request"),
        "{no_key}"
    );
    let plain_http = aws.fails(
        "owner-admin",
        false,
        &[
            &["s3", "cp", "data.csv", "s3://cli-sse-c/h.csv"][..],
            &sse_c[..],
        ]
        .concat(),
    );
    assert!(
        plain_http.contains("InvalidArgument")
            && plain_http.contains("must be made over a secure connection"),
        "{plain_http}"
    );

    // Above 8 MiB the CLI uploads in parts and downloads with parallel ranged GETs; with
    // SSE-C every part and range carries the key.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(work.path().join("big.bin"), &big).unwrap();
    aws.ok(
        "owner-admin",
        true,
        &["s3", "cp", "big.bin", "s3://cli-bucket/big.bin"],
    );
    aws.ok(
        "owner-admin",
        true,
        &[
            &["s3", "cp", "big.bin", "s3://cli-sse-c/big.bin"][..],
            &sse_c[..],
        ]
        .concat(),
    );
    let head: Value = serde_json::from_str(&aws.ok(
        "owner-admin",
        true,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "cli-bucket",
            "--key",
            "big.bin",
        ],
    ))
    .unwrap();
    assert!(
        head["ETag"].as_str().unwrap().ends_with("-2\""),
        "a multipart ETag: {head}"
    );
    assert_eq!(head["SSEKMSKeyId"], key.as_str());
    aws.ok(
        "owner-admin",
        true,
        &["s3", "cp", "s3://cli-bucket/big.bin", "big-back.bin"],
    );
    assert!(std::fs::read(work.path().join("big-back.bin")).unwrap() == big);
    aws.ok(
        "owner-admin",
        true,
        &[
            &["s3", "cp", "s3://cli-sse-c/big.bin", "big-c-back.bin"][..],
            &sse_c[..],
        ]
        .concat(),
    );
    assert!(std::fs::read(work.path().join("big-c-back.bin")).unwrap() == big);

    let listed = aws.ok("owner-admin", true, &["s3", "ls", "s3://cli-bucket"]);
    assert!(
        listed.contains("data.csv") && !listed.contains("plain.csv"),
        "{listed}"
    );
}
