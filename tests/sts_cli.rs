//! STS and the movable clock through the real AWS CLI against `keylab engine serve`, set up
//! as the lab shell is: one AWS config file with a profile per lab identity and the role
//! profiles (`role_arn` + `source_profile`) the engine lists, and `AWS_ENDPOINT_URL`
//! pointing at the engine, so the CLI's own assume-role provider calls the engine's STS.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::{Server, aws_cli};

const KEYLAB: &str = env!("CARGO_BIN_EXE_keylab");

/// The lab shell's AWS CLI setup (shared with `secrets_cli`).
pub(crate) struct Shell {
    cli: PathBuf,
    home: PathBuf,
    endpoint: String,
    owner_key: (String, String),
}

impl Shell {
    pub(crate) fn new(cli: PathBuf, server: &Server, home: &Path) -> Shell {
        let mut config = String::new();
        let mut owner_key = None;
        for i in server.info["identities"].as_array().unwrap() {
            let (name, key, secret) = (
                i["name"].as_str().unwrap(),
                i["access_key_id"].as_str().unwrap(),
                i["secret_access_key"].as_str().unwrap(),
            );
            config.push_str(&format!(
                "[profile {name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\nregion = us-east-1\n\n"
            ));
            if name == "owner-admin" {
                owner_key = Some((key.to_string(), secret.to_string()));
            }
        }
        let profiles = server.info["role_profiles"].as_array().unwrap();
        assert!(profiles.len() >= 2, "the engine lists its role profiles");
        for p in profiles {
            config.push_str(&format!(
                "[profile {}]\nrole_arn = {}\nsource_profile = {}\nregion = us-east-1\n\n",
                p["name"].as_str().unwrap(),
                p["role_arn"].as_str().unwrap(),
                p["source_profile"].as_str().unwrap()
            ));
        }
        std::fs::write(home.join("config"), config).unwrap();
        Shell {
            cli,
            home: home.to_path_buf(),
            endpoint: server.info["http"].as_str().unwrap().to_string(),
            owner_key: owner_key.unwrap(),
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.home)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", self.home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("KEYLAB_HTTP_ENDPOINT", &self.endpoint);
        cmd
    }

    pub(crate) fn aws(&self, profile: &str, args: &[&str]) -> Output {
        self.command(&self.cli)
            .arg("--profile")
            .arg(profile)
            .args(args)
            .output()
            .expect("aws runs")
    }

    pub(crate) fn ok(&self, profile: &str, args: &[&str]) -> Value {
        let out = self.aws(profile, args);
        assert!(
            out.status.success(),
            "aws {args:?} as {profile} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub(crate) fn fails(&self, profile: &str, args: &[&str]) -> String {
        let out = self.aws(profile, args);
        assert!(
            !out.status.success(),
            "aws {args:?} as {profile} should fail"
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// `keylab engine clock …` as the owner's administrator.
    pub(crate) fn clock(&self, args: &[&str]) -> Output {
        self.command(Path::new(KEYLAB))
            .args(["engine", "clock"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &self.owner_key.0)
            .env("AWS_SECRET_ACCESS_KEY", &self.owner_key.1)
            .output()
            .expect("keylab runs")
    }
}

#[test]
fn the_aws_cli_assumes_roles_and_sessions_expire_with_the_engine_clock() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let shell = Shell::new(cli, &server, home.path());

    // get-caller-identity answers for every identity.
    for i in server.info["identities"].as_array().unwrap() {
        let me = shell.ok(i["name"].as_str().unwrap(), &["sts", "get-caller-identity"]);
        assert_eq!(me["Arn"], i["arn"]);
        assert_eq!(me["Account"], i["account"]);
    }

    // A role profile: the CLI assumes the owner's role with the partner analyst's keys.
    let me = shell.ok("partner-analyst-in-owner", &["sts", "get-caller-identity"]);
    let arn = me["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111122223333:assumed-role/PartnerReader/"),
        "{arn}"
    );
    shell.ok("partner-analyst-in-owner", &["kms", "list-aliases"]);

    // Cross-account denials, in AWS's words.
    let role = "arn:aws:iam::111122223333:role/PartnerReader";
    let err = shell.fails(
        "outsider-admin",
        &[
            "sts",
            "assume-role",
            "--role-arn",
            role,
            "--role-session-name",
            "mallory",
        ],
    );
    assert!(
        err.contains("(AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::777788889999:user/admin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/PartnerReader"),
        "{err}"
    );
    let err = shell.fails(
        "partner-analyst",
        &[
            "sts",
            "assume-role",
            "--role-arn",
            "arn:aws:iam::111122223333:role/Auditor",
            "--role-session-name",
            "bob",
        ],
    );
    assert!(
        err.contains("because no identity-based policy allows the sts:AssumeRole action"),
        "{err}"
    );

    // A session of 15 minutes, used through environment variables as a script would.
    let creds = shell.ok(
        "partner-admin",
        &[
            "sts",
            "assume-role",
            "--role-arn",
            role,
            "--role-session-name",
            "script",
            "--duration-seconds",
            "900",
        ],
    )["Credentials"]
        .clone();
    let with_session = |args: &[&str]| {
        shell
            .command(&shell.cli)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", creds["AccessKeyId"].as_str().unwrap())
            .env(
                "AWS_SECRET_ACCESS_KEY",
                creds["SecretAccessKey"].as_str().unwrap(),
            )
            .env("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap()
    };
    let out = with_session(&["kms", "list-keys"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The clock: shown, moved two hours on, never back.
    let out = shell.clock(&["show"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = shell.clock(&["advance", "2h"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("0d 2h"), "{text}");
    let out = shell.clock(&["set", "2020-01-01T00:00:00Z"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only moves forward"));

    // The session token is refused now, by KMS and by STS.
    let out = with_session(&["kms", "list-keys"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("ExpiredTokenException"),
        "{err}"
    );
    let out = with_session(&["sts", "get-caller-identity"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("ExpiredToken"),
        "{err}"
    );

    // Rotation and deletion fall due as the clock moves.
    let rotating = shell.ok("owner-admin", &["kms", "create-key"])["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();
    shell.ok(
        "owner-admin",
        &[
            "kms",
            "enable-key-rotation",
            "--key-id",
            &rotating,
            "--rotation-period-in-days",
            "90",
        ],
    );
    let doomed = shell.ok("owner-admin", &["kms", "create-key"])["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();
    shell.ok(
        "owner-admin",
        &[
            "kms",
            "schedule-key-deletion",
            "--key-id",
            &doomed,
            "--pending-window-in-days",
            "7",
        ],
    );
    let out = shell.clock(&["advance", "91d"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotations = shell.ok(
        "owner-admin",
        &["kms", "list-key-rotations", "--key-id", &rotating],
    );
    assert_eq!(
        rotations["Rotations"].as_array().unwrap().len(),
        1,
        "{rotations}"
    );
    let err = shell.fails("owner-admin", &["kms", "describe-key", "--key-id", &doomed]);
    assert!(err.contains("NotFoundException"), "{err}");

    // HMAC keys through the CLI: generate-mac and verify-mac.
    let hmac = shell.ok(
        "owner-admin",
        &[
            "kms",
            "create-key",
            "--key-spec",
            "HMAC_256",
            "--key-usage",
            "GENERATE_VERIFY_MAC",
        ],
    )["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(shell.home.join("msg.txt"), b"customer-4711").unwrap();
    let mac = shell.ok(
        "owner-admin",
        &[
            "kms",
            "generate-mac",
            "--key-id",
            &hmac,
            "--mac-algorithm",
            "HMAC_SHA_256",
            "--message",
            "fileb://msg.txt",
        ],
    )["Mac"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        shell.home.join("mac.bin"),
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &mac).unwrap(),
    )
    .unwrap();
    let verified = shell.ok(
        "owner-admin",
        &[
            "kms",
            "verify-mac",
            "--key-id",
            &hmac,
            "--mac-algorithm",
            "HMAC_SHA_256",
            "--message",
            "fileb://msg.txt",
            "--mac",
            "fileb://mac.bin",
        ],
    );
    assert_eq!(verified["MacValid"], true);

    // Only the owner account moves the clock.
    let partner = &server.info["identities"].as_array().unwrap()[2];
    assert_eq!(partner["name"], "partner-admin");
    let out = shell
        .command(Path::new(KEYLAB))
        .args(["engine", "clock", "advance", "1d"])
        .env(
            "AWS_ACCESS_KEY_ID",
            partner["access_key_id"].as_str().unwrap(),
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            partner["secret_access_key"].as_str().unwrap(),
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("owner account"),
        "{err}"
    );
}

/// The lab shell's own environment (`course::shell_env`, as `s` in the TUI and `keylab shell`
/// set it up): with it, `--profile partner-analyst-in-owner` assumes the role through the
/// engine, and the default identity is the exercise's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_shell_config_has_every_identity_and_the_role_profiles() {
    let Some(cli) = aws_cli() else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(state.path()))
        .await
        .unwrap();
    let backend = keylab::backend::Backend::from_engine(&engine);
    let config = tempfile::tempdir().unwrap();
    let vars = keylab::lab::course::shell_env(
        &backend,
        "owner-admin",
        &backend.http_endpoint,
        &backend.https_endpoint,
        Some(config.path()),
    )
    .unwrap();
    let aws = |args: &[&str]| {
        let mut command = Command::new(&cli);
        command
            .env_clear()
            .env("HOME", config.path())
            .env("PATH", std::env::var("PATH").unwrap());
        command.envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let me = aws(&["sts", "get-caller-identity"]);
    assert_eq!(me["Arn"], "arn:aws:iam::111122223333:user/admin", "{me}");
    let partner = aws(&["sts", "get-caller-identity", "--profile", "partner-admin"]);
    assert_eq!(partner["Account"], "444455556666", "{partner}");
    let role = aws(&[
        "sts",
        "get-caller-identity",
        "--profile",
        "partner-analyst-in-owner",
    ]);
    let arn = role["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111122223333:assumed-role/PartnerReader/"),
        "{role}"
    );
    engine.shutdown().await;
}

#[test]
fn cloudtrail_lookup_events_finds_a_partners_decrypt_with_its_context() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let shell = Shell::new(cli, &server, home.path());
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    std::fs::write(home.path().join("policy.json"), policy).unwrap();
    std::fs::write(home.path().join("plain.txt"), "payroll").unwrap();
    let key = shell.ok(
        "owner-admin",
        &["kms", "create-key", "--policy", "file://policy.json"],
    );
    let arn = key["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    let sealed = shell.ok(
        "owner-admin",
        &[
            "kms",
            "encrypt",
            "--key-id",
            &arn,
            "--plaintext",
            "fileb://plain.txt",
            "--encryption-context",
            "dept=finance",
        ],
    );
    use base64::Engine as _;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(sealed["CiphertextBlob"].as_str().unwrap())
        .unwrap();
    std::fs::write(home.path().join("ct.bin"), blob).unwrap();
    shell.ok(
        "partner-admin",
        &[
            "kms",
            "decrypt",
            "--key-id",
            &arn,
            "--ciphertext-blob",
            "fileb://ct.bin",
            "--encryption-context",
            "dept=finance",
        ],
    );
    shell.ok(
        "owner-admin",
        &["s3api", "create-bucket", "--bucket", "trail-probe"],
    );
    shell.ok(
        "owner-admin",
        &[
            "s3api",
            "put-object",
            "--bucket",
            "trail-probe",
            "--key",
            "a",
            "--body",
            "plain.txt",
        ],
    );

    let lookup = |profile: &str, attribute: &str, extra: &[&str]| -> Vec<Value> {
        let mut args = vec![
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            attribute,
        ];
        args.extend_from_slice(extra);
        shell.ok(profile, &args)["Events"]
            .as_array()
            .unwrap()
            .clone()
    };
    let record = |e: &Value| -> Value {
        serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap()
    };

    // The key owner sees the partner's Decrypt of its key, with who, what and the context.
    let decrypts = lookup(
        "owner-admin",
        "AttributeKey=EventName,AttributeValue=Decrypt",
        &[],
    );
    let partners: Vec<Value> = decrypts
        .iter()
        .map(record)
        .filter(|r| r["userIdentity"]["accountId"] == "444455556666")
        .collect();
    assert_eq!(partners.len(), 1, "{decrypts:#?}");
    let r = &partners[0];
    assert_eq!(r["eventSource"], "kms.amazonaws.com");
    assert_eq!(
        r["userIdentity"]["arn"],
        "arn:aws:iam::444455556666:user/admin"
    );
    assert_eq!(r["userIdentity"]["type"], "IAMUser");
    assert_eq!(
        r["requestParameters"]["encryptionContext"]["dept"],
        "finance"
    );
    assert_eq!(r["resources"][0]["ARN"], arn.as_str());
    assert_eq!(r["resources"][0]["type"], "AWS::KMS::Key");
    assert_eq!(r["readOnly"], true);
    assert!(r["errorCode"].is_null());
    let event = &decrypts[0];
    assert_eq!(event["EventName"], "Decrypt");
    assert_eq!(event["EventSource"], "kms.amazonaws.com");
    assert!(event["EventTime"].is_string() || event["EventTime"].is_number());

    // The partner sees its own call; an outsider sees neither.
    assert_eq!(
        lookup(
            "partner-admin",
            "AttributeKey=EventName,AttributeValue=Decrypt",
            &[]
        )
        .len(),
        1
    );
    assert!(
        lookup(
            "outsider-admin",
            "AttributeKey=EventName,AttributeValue=Decrypt",
            &[]
        )
        .is_empty()
    );

    // Management events only: the bucket's creation shows, its object's upload does not.
    let s3: Vec<String> = lookup(
        "owner-admin",
        "AttributeKey=EventSource,AttributeValue=s3.amazonaws.com",
        &[],
    )
    .iter()
    .map(|e| e["EventName"].as_str().unwrap().to_string())
    .collect();
    assert!(s3.contains(&"CreateBucket".to_string()), "{s3:?}");
    assert!(!s3.contains(&"PutObject".to_string()), "{s3:?}");

    // Pages: one event per page, followed by the CLI, gives the same events, newest first.
    let all = lookup(
        "owner-admin",
        "AttributeKey=ReadOnly,AttributeValue=false",
        &[],
    );
    let paged = lookup(
        "owner-admin",
        "AttributeKey=ReadOnly,AttributeValue=false",
        &["--page-size", "1"],
    );
    assert!(all.len() >= 2, "{all:#?}");
    let ids = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|e| e["EventId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&all), ids(&paged));

    // Needs cloudtrail:LookupEvents; AWS's validation errors.
    let err = shell.fails("partner-analyst", &["cloudtrail", "lookup-events"]);
    assert!(
        err.contains("(AccessDeniedException) when calling the LookupEvents operation")
            && err.contains("cloudtrail:LookupEvents"),
        "{err}"
    );
    let err = shell.fails(
        "owner-admin",
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=Decrypt",
            "AttributeKey=Username,AttributeValue=admin",
        ],
    );
    assert!(err.contains("(InvalidLookupAttributesException)"), "{err}");
    let err = shell.fails(
        "owner-admin",
        &[
            "cloudtrail",
            "lookup-events",
            "--start-time",
            "2030-01-02T00:00:00Z",
            "--end-time",
            "2030-01-01T00:00:00Z",
        ],
    );
    assert!(err.contains("(InvalidTimeRangeException)"), "{err}");
}

#[test]
fn the_aws_cli_changes_what_a_role_may_do_with_iam_put_role_policy() {
    let Some(cli) = aws_cli() else { return };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(state.path());
    let shell = Shell::new(cli, &server, home.path());
    let denied = shell.fails("partner-analyst", &["cloudtrail", "lookup-events"]);
    assert!(denied.contains("(AccessDeniedException)"), "{denied}");
    let simulate = |decision_for: &str| -> String {
        let out = shell.ok(
            "partner-admin",
            &[
                "iam",
                "simulate-principal-policy",
                "--policy-source-arn",
                "arn:aws:iam::444455556666:role/Analyst",
                "--action-names",
                decision_for,
                "kms:ListKeys",
            ],
        );
        let results = out["EvaluationResults"].as_array().unwrap();
        assert_eq!(results.len(), 2, "{out}");
        assert_eq!(results[1]["EvalDecision"], "allowed", "{out}");
        results[0]["EvalDecision"].as_str().unwrap().to_string()
    };
    assert_eq!(simulate("cloudtrail:LookupEvents"), "implicitDeny");

    std::fs::write(
        home.path().join("audit.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}"#,
    )
    .unwrap();
    shell.ok(
        "partner-admin",
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "Analyst",
            "--policy-name",
            "ReadHistory",
            "--policy-document",
            "file://audit.json",
        ],
    );
    let names = shell.ok(
        "partner-admin",
        &["iam", "list-role-policies", "--role-name", "Analyst"],
    );
    assert!(
        names["PolicyNames"]
            .as_array()
            .unwrap()
            .contains(&Value::from("ReadHistory")),
        "{names}"
    );
    let got = shell.ok(
        "partner-admin",
        &[
            "iam",
            "get-role-policy",
            "--role-name",
            "Analyst",
            "--policy-name",
            "ReadHistory",
        ],
    );
    assert_eq!(
        got["PolicyDocument"]["Statement"][0]["Action"], "cloudtrail:LookupEvents",
        "the CLI decodes the URL-encoded document: {got}"
    );
    assert_eq!(simulate("cloudtrail:LookupEvents"), "allowed");
    shell.ok("partner-analyst", &["cloudtrail", "lookup-events"]);

    // IAM never reaches into another account, and the analyst may not change itself.
    let err = shell.fails(
        "outsider-admin",
        &[
            "iam",
            "delete-role-policy",
            "--role-name",
            "Analyst",
            "--policy-name",
            "ReadHistory",
        ],
    );
    assert!(err.contains("(NoSuchEntity)"), "{err}");
    let err = shell.fails(
        "partner-analyst",
        &[
            "iam",
            "delete-role-policy",
            "--role-name",
            "Analyst",
            "--policy-name",
            "ReadHistory",
        ],
    );
    assert!(
        err.contains("(AccessDenied)") && err.contains("iam:DeleteRolePolicy"),
        "{err}"
    );

    shell.ok(
        "partner-admin",
        &[
            "iam",
            "delete-role-policy",
            "--role-name",
            "Analyst",
            "--policy-name",
            "ReadHistory",
        ],
    );
    let denied = shell.fails("partner-analyst", &["cloudtrail", "lookup-events"]);
    assert!(denied.contains("(AccessDeniedException)"), "{denied}");
    let err = shell.fails("partner-admin", &["iam", "create-user", "--user-name", "X"]);
    assert!(err.contains("(InvalidAction)"), "{err}");
}
