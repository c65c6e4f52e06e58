//! Secrets Manager, `UpdateObjectEncryption` and IAM roles through the real AWS CLI against
//! `keylab engine serve`, as the lab shell sets it up (see `sts_cli`): the cross-account rule
//! (a resource policy, the caller's identity policy and a customer managed key whose policy
//! lets the caller decrypt; `aws/secretsmanager` never works across accounts), the encryption
//! context KMS sees, and an object moved from SSE-S3 to SSE-KMS without rewriting its body.

use serde_json::Value;

use crate::cli::{Server, aws_cli};
use crate::sts_cli::Shell;

const OWNER: &str = "111122223333";
const PARTNER: &str = "444455556666";

fn key_policy(partner_may_decrypt: bool) -> String {
    let partner = if partner_may_decrypt {
        format!(
            r#",{{"Sid":"PartnerReadsTheSecret","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:user/admin"}},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*","Condition":{{"StringEquals":{{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}}}}}}"#
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}}{partner}]}}"#
    )
}

#[test]
fn a_secret_is_read_across_accounts_only_with_a_customer_managed_key_and_both_policies() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let shell = Shell::new(cli, &server, home.path());
    let sm = |profile: &str, args: &[&str]| {
        let mut all = vec!["secretsmanager"];
        all.extend_from_slice(args);
        shell.ok(profile, &all)
    };
    let sm_fails = |profile: &str, args: &[&str]| {
        let mut all = vec!["secretsmanager"];
        all.extend_from_slice(args);
        shell.fails(profile, &all)
    };

    let created = sm(
        "owner-admin",
        &[
            "create-secret",
            "--name",
            "prod/db",
            "--secret-string",
            r#"{"password":"correct horse"}"#,
        ],
    );
    let arn = created["ARN"].as_str().unwrap().to_string();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:secretsmanager:us-east-1:{OWNER}:secret:prod/db-"
        )) && arn.len()
            == "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-".len() + 6,
        "{arn}"
    );
    let value = sm(
        "owner-admin",
        &["get-secret-value", "--secret-id", "prod/db"],
    );
    assert_eq!(value["SecretString"], r#"{"password":"correct horse"}"#);
    assert_eq!(value["VersionStages"], serde_json::json!(["AWSCURRENT"]));
    let described = sm("owner-admin", &["describe-secret", "--secret-id", &arn]);
    assert!(
        described.get("KmsKeyId").is_none(),
        "aws/secretsmanager is not named: {described}"
    );

    // The resource policy lets the partner's administrator in; its identity policy allows
    // everything; but the AWS managed key's policy admits only its own account.
    std::fs::write(
        home.path().join("secret-policy.json"),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:user/admin"}},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}]}}"#
        ),
    )
    .unwrap();
    sm(
        "owner-admin",
        &[
            "put-resource-policy",
            "--secret-id",
            "prod/db",
            "--resource-policy",
            "file://secret-policy.json",
        ],
    );
    let by_name = sm_fails(
        "partner-admin",
        &["get-secret-value", "--secret-id", "prod/db"],
    );
    assert!(
        by_name.contains("ResourceNotFoundException"),
        "another account names a secret by ARN: {by_name}"
    );
    let managed = sm_fails("partner-admin", &["get-secret-value", "--secret-id", &arn]);
    assert!(
        managed.contains("(AccessDeniedException)")
            && managed.contains("Access to KMS is not allowed"),
        "{managed}"
    );

    // A customer managed key whose policy does not name the partner yet.
    let key = shell.ok(
        "owner-admin",
        &["kms", "create-key", "--description", "shared secrets"],
    );
    let key_arn = key["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    sm(
        "owner-admin",
        &[
            "update-secret",
            "--secret-id",
            &arn,
            "--kms-key-id",
            &key_arn,
        ],
    );
    let described = sm("owner-admin", &["describe-secret", "--secret-id", &arn]);
    assert_eq!(described["KmsKeyId"], key_arn.as_str());
    let not_in_key_policy = sm_fails("partner-admin", &["get-secret-value", "--secret-id", &arn]);
    assert!(
        not_in_key_policy.contains("Access to KMS is not allowed"),
        "{not_in_key_policy}"
    );

    std::fs::write(home.path().join("key-policy.json"), key_policy(true)).unwrap();
    shell.ok(
        "owner-admin",
        &[
            "kms",
            "put-key-policy",
            "--key-id",
            &key_arn,
            "--policy-name",
            "default",
            "--policy",
            "file://key-policy.json",
        ],
    );
    let read = sm("partner-admin", &["get-secret-value", "--secret-id", &arn]);
    assert_eq!(read["SecretString"], r#"{"password":"correct horse"}"#);
    let outsider = sm_fails("outsider-admin", &["get-secret-value", "--secret-id", &arn]);
    assert!(outsider.contains("(AccessDeniedException)"), "{outsider}");

    // KMS saw the partner's Decrypt through Secrets Manager with AWS's encryption context.
    let events = shell.ok(
        "owner-admin",
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=Decrypt",
        ],
    );
    let decrypt = events["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str::<Value>(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .find(|r| r["userIdentity"]["accountId"] == PARTNER && r["errorCode"].is_null())
        .expect("the partner's Decrypt is in the owner's event history");
    let context = &decrypt["requestParameters"]["encryptionContext"];
    assert_eq!(context["SecretARN"], arn.as_str(), "{decrypt}");
    assert_eq!(context["SecretVersionId"], read["VersionId"], "{decrypt}");

    // Without the resource policy, the partner's own identity policy is not enough.
    sm(
        "owner-admin",
        &["delete-resource-policy", "--secret-id", &arn],
    );
    let no_resource_policy = sm_fails("partner-admin", &["get-secret-value", "--secret-id", &arn]);
    assert!(
        no_resource_policy.contains("(AccessDeniedException)")
            && no_resource_policy.contains("secretsmanager:GetSecretValue"),
        "{no_resource_policy}"
    );

    // A new value becomes AWSCURRENT and the old one AWSPREVIOUS.
    let put = sm(
        "owner-admin",
        &[
            "put-secret-value",
            "--secret-id",
            &arn,
            "--secret-string",
            "v2",
        ],
    );
    let previous = sm(
        "owner-admin",
        &[
            "get-secret-value",
            "--secret-id",
            &arn,
            "--version-stage",
            "AWSPREVIOUS",
        ],
    );
    assert_eq!(previous["SecretString"], r#"{"password":"correct horse"}"#);
    let current = sm("owner-admin", &["get-secret-value", "--secret-id", &arn]);
    assert_eq!(current["VersionId"], put["VersionId"]);
    assert_eq!(current["SecretString"], "v2");

    // Deletion waits for its recovery window, on the engine's clock.
    let deleted = sm(
        "owner-admin",
        &[
            "delete-secret",
            "--secret-id",
            &arn,
            "--recovery-window-in-days",
            "7",
        ],
    );
    assert!(deleted["DeletionDate"].is_number(), "{deleted}");
    let marked = sm_fails("owner-admin", &["get-secret-value", "--secret-id", &arn]);
    assert!(marked.contains("marked for deletion"), "{marked}");
    sm("owner-admin", &["restore-secret", "--secret-id", &arn]);
    sm("owner-admin", &["get-secret-value", "--secret-id", &arn]);
    sm(
        "owner-admin",
        &[
            "delete-secret",
            "--secret-id",
            &arn,
            "--recovery-window-in-days",
            "7",
        ],
    );
    let advanced = shell.clock(&["advance", "8d"]);
    assert!(advanced.status.success(), "{advanced:?}");
    let gone = sm_fails("owner-admin", &["describe-secret", "--secret-id", &arn]);
    assert!(gone.contains("ResourceNotFoundException"), "{gone}");
    let listed = sm("owner-admin", &["list-secrets"]);
    assert_eq!(listed["SecretList"], serde_json::json!([]), "{listed}");
}

#[test]
fn update_object_encryption_moves_an_object_to_sse_kms_without_rewriting_it() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let shell = Shell::new(cli, &server, home.path());
    std::fs::write(home.path().join("report.csv"), "id,total\n1,42\n").unwrap();
    shell.ok(
        "owner-admin",
        &["s3api", "create-bucket", "--bucket", "lake"],
    );
    let put = shell.ok(
        "owner-admin",
        &[
            "s3api",
            "put-object",
            "--bucket",
            "lake",
            "--key",
            "reports/q1.csv",
            "--body",
            "report.csv",
        ],
    );
    assert_eq!(put["ServerSideEncryption"], "AES256");
    let key = shell.ok("owner-admin", &["kms", "create-key"]);
    let key_arn = key["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    let alias = shell.fails(
        "owner-admin",
        &[
            "s3api",
            "update-object-encryption",
            "--bucket",
            "lake",
            "--key",
            "reports/q1.csv",
            "--object-encryption",
            "SSEKMS={KMSKeyArn=alias/shared-reports-key}",
        ],
    );
    assert!(
        alias.contains("InvalidRequest") && alias.contains("full"),
        "{alias}"
    );
    shell.ok(
        "owner-admin",
        &[
            "s3api",
            "update-object-encryption",
            "--bucket",
            "lake",
            "--key",
            "reports/q1.csv",
            "--object-encryption",
            &format!("SSEKMS={{KMSKeyArn={key_arn},BucketKeyEnabled=true}}"),
        ],
    );
    let head = shell.ok(
        "owner-admin",
        &[
            "s3api",
            "head-object",
            "--bucket",
            "lake",
            "--key",
            "reports/q1.csv",
        ],
    );
    assert_eq!(head["ServerSideEncryption"], "aws:kms", "{head}");
    assert_eq!(head["SSEKMSKeyId"], key_arn.as_str(), "{head}");
    assert_eq!(head["BucketKeyEnabled"], true, "{head}");
    assert_eq!(
        head["ETag"], put["ETag"],
        "the body was not rewritten: {head}"
    );
    let out = home.path().join("back.csv");
    shell.ok(
        "owner-admin",
        &[
            "s3api",
            "get-object",
            "--bucket",
            "lake",
            "--key",
            "reports/q1.csv",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "id,total\n1,42\n");

    // The analyst may read objects but not change their encryption.
    let denied = shell.fails(
        "owner-analyst",
        &[
            "s3api",
            "update-object-encryption",
            "--bucket",
            "lake",
            "--key",
            "reports/q1.csv",
            "--object-encryption",
            &format!("SSEKMS={{KMSKeyArn={key_arn}}}"),
        ],
    );
    assert!(denied.contains("AccessDenied"), "{denied}");
}

#[test]
fn the_aws_cli_creates_reads_retrusts_and_deletes_a_role() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let shell = Shell::new(cli, &server, home.path());
    std::fs::write(
        home.path().join("trust.json"),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        ),
    )
    .unwrap();
    let created = shell.ok(
        "owner-admin",
        &[
            "iam",
            "create-role",
            "--role-name",
            "SecretReader",
            "--assume-role-policy-document",
            "file://trust.json",
            "--description",
            "reads the shared secret",
        ],
    );
    let arn = format!("arn:aws:iam::{OWNER}:role/SecretReader");
    assert_eq!(created["Role"]["Arn"], arn.as_str(), "{created}");
    assert!(
        created["Role"]["RoleId"]
            .as_str()
            .unwrap()
            .starts_with("AROA")
    );
    let again = shell.fails(
        "owner-admin",
        &[
            "iam",
            "create-role",
            "--role-name",
            "SecretReader",
            "--assume-role-policy-document",
            "file://trust.json",
        ],
    );
    assert!(again.contains("EntityAlreadyExists"), "{again}");
    let got = shell.ok(
        "owner-admin",
        &["iam", "get-role", "--role-name", "SecretReader"],
    );
    assert_eq!(
        got["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{PARTNER}:root"),
        "{got}"
    );

    // The partner's administrator can assume it; after the trust policy names the owner
    // only, it cannot.
    let assumed = shell.ok(
        "partner-admin",
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &arn,
            "--role-session-name",
            "reader",
        ],
    );
    assert!(
        assumed["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );
    std::fs::write(
        home.path().join("owner-only.json"),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        ),
    )
    .unwrap();
    shell.ok(
        "owner-admin",
        &[
            "iam",
            "update-assume-role-policy",
            "--role-name",
            "SecretReader",
            "--policy-document",
            "file://owner-only.json",
        ],
    );
    let refused = shell.fails(
        "partner-admin",
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &arn,
            "--role-session-name",
            "reader",
        ],
    );
    assert!(refused.contains("AccessDenied"), "{refused}");

    // Inline policies first, then the role; the lab's own roles stay.
    std::fs::write(
        home.path().join("read.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
    )
    .unwrap();
    shell.ok(
        "owner-admin",
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "SecretReader",
            "--policy-name",
            "Read",
            "--policy-document",
            "file://read.json",
        ],
    );
    let conflict = shell.fails(
        "owner-admin",
        &["iam", "delete-role", "--role-name", "SecretReader"],
    );
    assert!(conflict.contains("DeleteConflict"), "{conflict}");
    shell.ok(
        "owner-admin",
        &[
            "iam",
            "delete-role-policy",
            "--role-name",
            "SecretReader",
            "--policy-name",
            "Read",
        ],
    );
    shell.ok(
        "owner-admin",
        &["iam", "delete-role", "--role-name", "SecretReader"],
    );
    let gone = shell.fails(
        "owner-admin",
        &["iam", "get-role", "--role-name", "SecretReader"],
    );
    assert!(gone.contains("NoSuchEntity"), "{gone}");
    let builtin = shell.fails(
        "owner-admin",
        &["iam", "delete-role", "--role-name", "PartnerReader"],
    );
    assert!(builtin.contains("UnmodifiableEntity"), "{builtin}");
    let analyst = shell.fails(
        "owner-analyst",
        &[
            "iam",
            "create-role",
            "--role-name",
            "Escalate",
            "--assume-role-policy-document",
            "file://trust.json",
        ],
    );
    assert!(analyst.contains("AccessDenied"), "{analyst}");
}

/// Python with boto3, as `scripts/setup-test-tools` installs it next to the AWS CLI.
fn boto3_python() -> Option<std::path::PathBuf> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    let has_boto3 = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import boto3"])
            .status()
            .is_ok_and(|s| s.success());
    if !has_boto3 {
        let msg = "boto3 is not installed: run `bash scripts/setup-test-tools`";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("NOT RUN: {msg}");
        return None;
    }
    Some(python)
}

#[test]
fn boto3_drives_sts_iam_secrets_manager_hmac_keys_update_object_encryption_and_cloudtrail() {
    let Some(python) = boto3_python() else { return };
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/boto3_services.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("KEYLAB_ENDPOINT", server.info["http"].as_str().unwrap())
        .env("KEYLAB_IDENTITIES", server.info["identities"].to_string())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "boto3 script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["caller"], format!("arn:aws:iam::{PARTNER}:user/admin"));
    assert_eq!(
        seen["assumed"],
        format!("arn:aws:sts::{OWNER}:assumed-role/PartnerReader/boto3")
    );
    assert_eq!(
        seen["role_trust_principal"],
        format!("arn:aws:iam::{PARTNER}:root")
    );
    assert_eq!(seen["role_gone"], "NoSuchEntity");
    assert_eq!(seen["managed_key"][0], "AccessDeniedException", "{seen}");
    assert!(
        seen["managed_key"][1]
            .as_str()
            .unwrap()
            .contains("Access to KMS is not allowed"),
        "{seen}"
    );
    assert_eq!(seen["cmk_value"], "shared");
    assert_eq!(seen["mac_valid"], true);
    assert_eq!(
        seen["object_encryption"],
        serde_json::json!(["aws:kms", seen["expected"]["key_arn"]])
    );
    assert_eq!(seen["object_body"], "a,b\n1,2\n");
    assert!(
        seen["secret_contexts"]
            .as_array()
            .unwrap()
            .contains(&seen["expected"]["arn2"]),
        "{seen}"
    );
}

/// Secrets Manager from Rust through keylab's signed JSON client (raw SigV4 requests built
/// with `aws-sigv4`: `aws-sdk-secretsmanager` would add minutes of build for four calls), over
/// HTTPS: refusals a console user meets, with Secrets Manager's codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_refuses_what_aws_refuses() {
    use keylab::backend::client::secretsmanager_call;
    use keylab::backend::sdk::engine_settings;
    use serde_json::json;
    let lab = crate::common::Lab::start().await;
    let owner = engine_settings(&lab.engine, "owner-admin", true).unwrap();
    let analyst = engine_settings(&lab.engine, "owner-analyst", true).unwrap();
    let code = |r: Result<Value, keylab::backend::client::ClientError>| {
        r.expect_err("should fail")
            .code()
            .unwrap_or_default()
            .to_string()
    };
    let both = secretsmanager_call(
        &owner,
        "CreateSecret",
        json!({"Name": "x", "SecretString": "a", "SecretBinary": "YQ=="}),
    )
    .await;
    assert_eq!(code(both), "InvalidParameterException");
    let bad_name = secretsmanager_call(&owner, "CreateSecret", json!({"Name": "no spaces"})).await;
    assert_eq!(code(bad_name), "InvalidParameterException");
    let created = secretsmanager_call(
        &owner,
        "CreateSecret",
        json!({"Name": "app/key", "SecretBinary": "AAEC"}),
    )
    .await
    .unwrap();
    let again = secretsmanager_call(&owner, "CreateSecret", json!({"Name": "app/key"})).await;
    assert_eq!(code(again), "ResourceExistsException");
    let value = secretsmanager_call(&owner, "GetSecretValue", json!({"SecretId": "app/key"}))
        .await
        .unwrap();
    assert_eq!(value["SecretBinary"], "AAEC");
    assert_eq!(value["ARN"], created["ARN"]);
    // The analyst's identity policy names no secretsmanager action.
    let denied =
        secretsmanager_call(&analyst, "GetSecretValue", json!({"SecretId": "app/key"})).await;
    assert_eq!(code(denied), "AccessDeniedException");
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    let blocked = secretsmanager_call(
        &owner,
        "PutResourcePolicy",
        json!({"SecretId": "app/key", "ResourcePolicy": public.to_string()}),
    )
    .await;
    assert_eq!(code(blocked), "PublicPolicyException");
    let malformed = secretsmanager_call(
        &owner,
        "PutResourcePolicy",
        json!({"SecretId": "app/key", "ResourcePolicy": "{not json"}),
    )
    .await;
    assert_eq!(code(malformed), "MalformedPolicyDocumentException");
    let missing = secretsmanager_call(&owner, "GetSecretValue", json!({"SecretId": "nope"})).await;
    assert_eq!(code(missing), "ResourceNotFoundException");
    let window = secretsmanager_call(
        &owner,
        "DeleteSecret",
        json!({"SecretId": "app/key", "RecoveryWindowInDays": 3}),
    )
    .await;
    assert_eq!(code(window), "InvalidParameterException");
    secretsmanager_call(
        &owner,
        "DeleteSecret",
        json!({"SecretId": "app/key", "ForceDeleteWithoutRecovery": true}),
    )
    .await
    .unwrap();
    let gone = secretsmanager_call(&owner, "DescribeSecret", json!({"SecretId": "app/key"})).await;
    assert_eq!(code(gone), "ResourceNotFoundException");
    // No value or key material is written to the audit log.
    let log = serde_json::to_string(&lab.engine.handle().audit().events()).unwrap();
    assert!(log.contains("secretsmanager.amazonaws.com") && log.contains("SecretARN"));
    assert!(!log.contains("AAEC"), "the audit log holds no secret value");
}

/// The console (the TUI's and `keylab run`'s) speaks STS, IAM roles and Secrets Manager to the
/// backend, and acts as a role profile by assuming its role first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_assumes_role_profiles_and_speaks_sts_iam_and_secrets_manager() {
    use keylab::backend::Backend;
    use keylab::console::Console;
    let lab = crate::common::Lab::start().await;
    let backend = Backend::from_engine(&lab.engine);
    let work = tempfile::tempdir().unwrap();
    let console = Console::new(&backend, work.path(), "owner-admin");
    let run = |line: &'static str| {
        let console = &console;
        async move { console.run(line).await }
    };
    let me = run("aws sts get-caller-identity --query Arn --output text").await;
    assert_eq!(me.code, 0, "{}", me.stderr);
    assert_eq!(me.stdout.trim(), format!("arn:aws:iam::{OWNER}:user/admin"));

    // Without its own policy allowing sts:AssumeRole, the partner's analyst may not assume
    // PartnerReader, whatever the trust policy says.
    let removed = run(
        "aws iam delete-role-policy --profile partner-admin --role-name Analyst --policy-name AssumeOwnerReader",
    )
    .await;
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let denied = run("aws sts get-caller-identity --profile partner-analyst-in-owner").await;
    assert_eq!(denied.code, 254, "{}", denied.stderr);
    assert!(
        denied
            .stderr
            .contains("(AccessDenied) when calling the AssumeRole operation"),
        "{}",
        denied.stderr
    );
    let allowed = run(r#"aws iam put-role-policy --profile partner-admin --role-name Analyst --policy-name Assume --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/PartnerReader"}]}'"#).await;
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let as_role = run(
        "aws sts get-caller-identity --profile partner-analyst-in-owner --query Arn --output text",
    )
    .await;
    assert_eq!(as_role.code, 0, "{}", as_role.stderr);
    assert_eq!(
        as_role.stdout.trim(),
        format!("arn:aws:sts::{OWNER}:assumed-role/PartnerReader/keylab-console")
    );
    let names = run("aws iam list-role-policies --profile partner-admin --role-name Analyst").await;
    assert!(names.stdout.contains("\"Assume\""), "{}", names.stdout);
    let role =
        run("aws iam get-role --role-name PartnerReader --query Role.MaxSessionDuration").await;
    assert_eq!(role.stdout.trim(), "43200", "numbers come back as numbers");

    std::fs::write(
        work.path().join("secret.json"),
        r#"{"Name": "console/db", "SecretString": "pw"}"#,
    )
    .unwrap();
    let created = run("aws secretsmanager create-secret --cli-input-json file://secret.json").await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let value = run(
        "aws secretsmanager get-secret-value --secret-id console/db --query SecretString --output text",
    )
    .await;
    assert_eq!(value.stdout.trim(), "pw");
    let missing = run("aws secretsmanager get-secret-value").await;
    assert_eq!(missing.code, 252, "{}", missing.stderr);
    assert!(missing.stderr.contains("--secret-id"), "{}", missing.stderr);
}
