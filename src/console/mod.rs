//! The console: how a learner acts. It reads command lines in the AWS CLI's syntax
//! (`aws kms …`, `aws s3api …`, `aws s3 cp|ls|rm|mb|rb`, `aws iam …`, `aws sts …`,
//! `aws secretsmanager …`, `aws cloudtrail lookup-events`), the
//! `crypto …` helpers for client-side encryption, and a few workspace commands (`ls`, `cat`,
//! `rm`, `help`), and runs them against a [`Backend`] as a lab identity. Output follows the
//! AWS CLI (`--output json|text|table`, `--query` in JMESPath, error lines and exit
//! codes); `> file` writes it into the workspace. The console holds no terminal: it returns an
//! [`Outcome`], so the TUI, `keylab run`, scripts and the grader share it.

pub mod args;
pub mod cloudtrail;
pub mod crypto;
pub mod iam;
pub mod kms;
pub mod mask;
pub mod output;
pub mod s3;
pub mod s3api;
pub mod secretsmanager;

use std::path::{Path, PathBuf};

use serde_json::Value;

use self::args::Parsed;
use self::output::Format;
use crate::backend::Backend;
use crate::backend::client::ClientError;
use crate::backend::sdk::ClientSettings;

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code (0 success, 252 usage, 254 service error, 255 other, as the AWS CLI v2).
    pub code: i32,
    /// The AWS error code, when the service refused.
    pub error_code: Option<String>,
    /// An input file the command names is not in the workspace.
    pub missing_input: bool,
}

impl Outcome {
    /// Whether it succeeded.
    pub fn is_success(&self) -> bool {
        self.code == 0
    }
}

/// One line of a script and what it did.
#[derive(Debug, Clone)]
pub struct ScriptStep {
    /// The line number in the script.
    pub line_number: usize,
    /// The command.
    pub line: String,
    /// Whether the line was marked `!` (expected to fail).
    pub expect_failure: bool,
    /// Whether it succeeded, or failed when marked `!`.
    pub as_expected: bool,
    /// What it did.
    pub outcome: Outcome,
}

/// Why a command failed.
#[derive(Debug, Clone)]
pub enum CmdError {
    /// Bad syntax: exit 252 with `aws: error: …`.
    Usage(String),
    /// The service refused: exit 254 with `An error occurred (Code) when calling …`.
    Aws {
        /// The error code.
        code: String,
        /// The message.
        message: String,
        /// The API operation.
        operation: String,
    },
    /// Anything else (a file, the connection): exit 255.
    Other(String),
    /// An input file (`file://`, `fileb://`) is not in the workspace: a usage error (252), marked
    /// so that a grader can tell "not written yet" from a broken command.
    MissingInput(String),
}

impl From<args::ArgError> for CmdError {
    fn from(e: args::ArgError) -> CmdError {
        match e {
            args::ArgError::Usage(m) => CmdError::Usage(m),
            args::ArgError::MissingInput(m) => CmdError::MissingInput(m),
        }
    }
}

impl From<ClientError> for CmdError {
    fn from(e: ClientError) -> CmdError {
        match e {
            ClientError::Aws {
                code,
                message,
                operation,
            } => CmdError::Aws {
                code,
                message,
                operation,
            },
            ClientError::Transport(m) => CmdError::Other(m),
        }
    }
}

impl CmdError {
    /// The CLI's "Invalid choice" error.
    pub fn invalid_choice<'a>(what: &str, choices: impl Iterator<Item = &'a str>) -> CmdError {
        let list: Vec<&str> = choices.collect();
        CmdError::Usage(format!(
            "argument {what}: Invalid choice, valid choices are:\n\n{}",
            list.join(" | ")
        ))
    }

    fn into_outcome(self) -> Outcome {
        match self {
            CmdError::Usage(m) => Outcome {
                stderr: format!("aws: error: {m}\n"),
                code: 252,
                ..Default::default()
            },
            CmdError::MissingInput(m) => Outcome {
                stderr: format!("aws: error: {m}\n"),
                code: 252,
                missing_input: true,
                ..Default::default()
            },
            CmdError::Aws {
                code,
                message,
                operation,
            } => Outcome {
                stderr: format!(
                    "An error occurred ({code}) when calling the {operation} operation: {message}\n{}",
                    teaching_note(&code, &message)
                ),
                code: 254,
                error_code: Some(code),
                ..Default::default()
            },
            CmdError::Other(m) => Outcome {
                stderr: format!("{m}\n"),
                code: 255,
                ..Default::default()
            },
        }
    }
}

/// What keylab adds, on its own line, to an error whose AWS message says nothing: the same
/// words as AWS on the first line, then why it usually happens.
fn teaching_note(code: &str, message: &str) -> &'static str {
    match code {
        "InvalidCiphertextException" if message.trim().is_empty() => {
            "(keylab) KMS gives no reason on purpose: the ciphertext blob was changed, or the encryption context sent with it is not exactly the one it was encrypted with (the same pairs, case-sensitive). With crypto encrypt, pass the --context you gave generate-data-key; crypto inspect-blob shows a blob's key.\n"
        }
        _ => "",
    }
}

/// What a service module needs to run one command.
pub struct Ctx<'a> {
    /// The client settings of the chosen identity and transport.
    pub settings: ClientSettings,
    /// The workspace (`file://` paths are relative to it).
    pub workspace: &'a Path,
    /// The backend.
    pub backend: &'a Backend,
    /// The chosen profile.
    pub profile: &'a str,
}

/// A console bound to a backend, a workspace and a default identity.
#[derive(Debug)]
pub struct Console<'a> {
    backend: &'a Backend,
    workspace: PathBuf,
    profile: String,
}

/// The `aws` services the console serves.
pub const SERVICES: &[&str] = &[
    "cloudtrail",
    "iam",
    "kms",
    "s3",
    "s3api",
    "secretsmanager",
    "sts",
];

/// A console command word: what it is for, as `help` lists it.
#[derive(Debug, Clone, Copy)]
pub struct CommandWord {
    /// The first word of the command line.
    pub name: &'static str,
    /// How it is written and what it does, one or more help lines.
    pub help: &'static str,
}

/// The settings of a session of `role_arn`, assumed with `source`'s credentials (STS
/// `AssumeRole`, session name `keylab-console`).
async fn assume_role(source: ClientSettings, role_arn: &str) -> Result<ClientSettings, CmdError> {
    let params = [
        ("RoleArn".to_string(), role_arn.to_string()),
        ("RoleSessionName".to_string(), "keylab-console".to_string()),
    ];
    let out =
        crate::backend::query::query_call(&source, "sts", "2011-06-15", "AssumeRole", &params)
            .await?;
    let field = |name: &str| out["Credentials"][name].as_str().map(str::to_string);
    let (Some(key), Some(secret), Some(token)) = (
        field("AccessKeyId"),
        field("SecretAccessKey"),
        field("SessionToken"),
    ) else {
        return Err(CmdError::Other(format!(
            "AssumeRole of {role_arn} answered without credentials"
        )));
    };
    Ok(ClientSettings {
        access_key_id: key,
        secret_access_key: secret,
        session_token: Some(token),
        ..source
    })
}

/// Every console command, in the order `help` lists them: the one list behind dispatch, `help`
/// and Tab completion.
pub const COMMANDS: &[CommandWord] = &[
    CommandWord {
        name: "aws",
        help: "aws kms <operation> [--options]        every KMS operation of the lab, e.g. aws kms encrypt
aws s3api <operation> [--options]      S3 operations, e.g. aws s3api put-bucket-policy
aws s3 cp|ls|rm|mb|rb ...              high-level S3 commands
aws iam put-role-policy|get-role-policy|list-role-policies|create-role|get-role|... (and -user-)
aws sts get-caller-identity | assume-role --role-arn ARN --role-session-name NAME
aws secretsmanager create-secret|get-secret-value|put-resource-policy|describe-secret|...
aws cloudtrail lookup-events [--lookup-attributes AttributeKey=EventName,AttributeValue=Decrypt]
Global options: --profile NAME, --output json|text|table, --query JMESPATH, --endpoint-url URL
  (the backend's http:// endpoint sends a request over plain HTTP; HTTPS is the default)",
    },
    CommandWord {
        name: "crypto",
        help: "Client-side encryption:
  crypto encrypt --data-key FILE --in FILE --out FILE [--context k=v,...]
  crypto decrypt --in FILE --out FILE
  crypto put-object --bucket B --key K --in FILE --key-id KEY [--context k=v,...]
  crypto get-object --bucket B --key K --out FILE
  crypto inspect-blob --in FILE|fileb://FILE      crypto context k=v,...",
    },
    CommandWord {
        name: "mask",
        help: "Masking (rules in TOML; keys from kms:, env: or file:, never in the rules):
  mask --rules RULES.toml INPUT.csv|.jsonl|.parquet [--out FILE] [--reverse]
  mask analyze --qi COL,COL [--sensitive COL] [--k N] FILE
  mask generate customers|orders|users [--rows N] [--seed N] [--out FILE]",
    },
    CommandWord {
        name: "ls",
        help: "Workspace: ls (every file), cat FILE, rm FILE...",
    },
    CommandWord {
        name: "cat",
        help: "",
    },
    CommandWord {
        name: "rm",
        help: "",
    },
    CommandWord {
        name: "profiles",
        help: "profiles (the lab identities), endpoints (the backend's URLs), help",
    },
    CommandWord {
        name: "endpoints",
        help: "",
    },
    CommandWord {
        name: "help",
        help: "Append '> FILE' to write a command's output into the workspace.",
    },
];

/// The `help` text: every command's help, in order.
fn help() -> String {
    let mut out = String::from("Commands (AWS CLI syntax, run against the lab backend):\n");
    for c in COMMANDS.iter().filter(|c| !c.help.is_empty()) {
        out.push_str(c.help);
        out.push('\n');
    }
    out
}

impl<'a> Console<'a> {
    /// A console acting as `profile` in `workspace`.
    pub fn new(backend: &'a Backend, workspace: impl Into<PathBuf>, profile: &str) -> Console<'a> {
        Console {
            backend,
            workspace: workspace.into(),
            profile: profile.to_string(),
        }
    }

    /// The workspace.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// The default identity.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Runs one command line.
    pub async fn run(&self, line: &str) -> Outcome {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Outcome::default();
        }
        let parsed = match args::parse_line(line) {
            Ok(p) => p,
            Err(e) => return CmdError::Usage(e).into_outcome(),
        };
        let redirect = parsed.redirect.clone();
        let mut outcome = match self.dispatch(parsed).await {
            Ok(stdout) => Outcome {
                stdout,
                ..Default::default()
            },
            Err(e) => e.into_outcome(),
        };
        if let Some(target) = redirect
            && outcome.is_success()
        {
            if let Err(e) =
                crate::confine::write(&self.workspace, &target, outcome.stdout.as_bytes())
            {
                return CmdError::from(e).into_outcome();
            }
            outcome.stdout.clear();
        }
        outcome
    }

    /// Runs a script: one command per line, `#` comments, and `!` before a command that is
    /// expected to fail (to show a denial). Stops at the first line that does not do what it
    /// should, unless `keep_going`.
    pub async fn run_script(&self, script: &str, keep_going: bool) -> Vec<ScriptStep> {
        let mut done = Vec::new();
        for (i, raw) in script.lines().enumerate() {
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            let (expect_failure, line) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, raw),
            };
            let outcome = self.run(line).await;
            let as_expected = outcome.is_success() != expect_failure;
            done.push(ScriptStep {
                line_number: i + 1,
                line: line.to_string(),
                expect_failure,
                as_expected,
                outcome,
            });
            if !as_expected && !keep_going {
                break;
            }
        }
        done
    }

    async fn dispatch(&self, mut parsed: Parsed) -> Result<String, CmdError> {
        let words = parsed.words.clone();
        let first = words.first().map(String::as_str).unwrap_or_default();
        match first {
            "aws" => self.aws(&mut parsed).await,
            "crypto" => {
                let ctx = self.ctx(&mut parsed).await?;
                crypto::run(&ctx, words.get(1).map(String::as_str), parsed).await
            }
            "mask" => {
                let ctx = self.ctx(&mut parsed).await?;
                mask::run(&ctx, parsed).await
            }
            "help" => Ok(help()),
            "ls" if words.len() > 1 || !parsed.options.is_empty() => Err(CmdError::Usage(
                "ls takes no options: it lists every file of the workspace".into(),
            )),
            "ls" => self.ls(),
            "cat" => self.cat(words.get(1)),
            "rm" => self.rm(&words[1..]),
            "profiles" => Ok(self
                .backend
                .profiles
                .iter()
                .map(|p| format!("{}\t{}\t{}\n", p.profile, p.account, p.arn))
                .collect()),
            "endpoints" => Ok(format!(
                "http\t{}\nhttps\t{}\n",
                self.backend.http_endpoint, self.backend.https_endpoint
            )),
            other => {
                debug_assert!(
                    !COMMANDS.iter().any(|c| c.name == other),
                    "{other} is dispatched"
                );
                Err(CmdError::Usage(format!(
                    "'{other}' is not a console command. Type 'help' for the commands (AWS CLI commands start with 'aws')."
                )))
            }
        }
    }

    /// The request context of a command: the profile it acts as (`--profile`, else the
    /// console's), over HTTPS unless `--endpoint-url` names the plain HTTP endpoint. A role
    /// profile of the lab shell's config (`partner-analyst-in-owner`) assumes its role with its
    /// source profile's credentials first, as the AWS CLI does, and acts with the session.
    async fn ctx(&self, parsed: &mut Parsed) -> Result<Ctx<'_>, CmdError> {
        let profile = parsed
            .take_one("profile")
            .map_err(CmdError::Usage)?
            .unwrap_or_else(|| self.profile.clone());
        let https = match parsed.take_one("endpoint-url").map_err(CmdError::Usage)? {
            None => true,
            Some(url) if url.trim_end_matches('/') == self.backend.https_endpoint => true,
            Some(url) if url.trim_end_matches('/') == self.backend.http_endpoint => false,
            Some(url) => {
                return Err(CmdError::Usage(format!(
                    "--endpoint-url {url}: the console talks to the lab backend only: use {} (HTTPS) or {} (plain HTTP)",
                    self.backend.https_endpoint, self.backend.http_endpoint
                )));
            }
        };
        if let Some(region) = parsed.take_one("region").map_err(CmdError::Usage)?
            && region != self.backend.region
        {
            return Err(CmdError::Usage(format!(
                "--region {region}: the lab backend serves {} only",
                self.backend.region
            )));
        }
        let role_profile = self
            .backend
            .identities()
            .role_profiles()
            .iter()
            .find(|r| r.name == profile);
        if let Some(role) = role_profile {
            let source = self
                .backend
                .settings(&role.source_profile, https)
                .map_err(CmdError::Other)?;
            return Ok(Ctx {
                settings: assume_role(source, &role.role_arn).await?,
                workspace: &self.workspace,
                backend: self.backend,
                profile: role.name.as_str(),
            });
        }
        let settings = self
            .backend
            .settings(&profile, https)
            .map_err(CmdError::Other)?;
        let profile = self
            .backend
            .profile(&profile)
            .map_err(CmdError::Other)?
            .profile
            .as_str();
        Ok(Ctx {
            settings,
            workspace: &self.workspace,
            backend: self.backend,
            profile,
        })
    }

    async fn aws(&self, parsed: &mut Parsed) -> Result<String, CmdError> {
        let format = match parsed.take_one("output").map_err(CmdError::Usage)? {
            Some(f) => Format::parse(&f).map_err(CmdError::Usage)?,
            None => Format::Json,
        };
        let query = parsed.take_one("query").map_err(CmdError::Usage)?;
        parsed.take("no-cli-pager");
        parsed.take("no-paginate");
        let ctx = self.ctx(parsed).await?;
        let service = parsed.words.get(1).cloned();
        let operation = parsed.words.get(2).cloned();
        let Some(service) = service else {
            return Err(CmdError::Usage(
                "the following arguments are required: command (try: aws kms help)".into(),
            ));
        };
        if !SERVICES.contains(&service.as_str()) {
            return Err(CmdError::invalid_choice(
                "command",
                SERVICES.iter().copied(),
            ));
        }
        let Some(operation) = operation else {
            return Err(CmdError::Usage(
                "the following arguments are required: operation".into(),
            ));
        };
        if parsed.words.len() > 3 && service != "s3" {
            return Err(CmdError::Usage(format!(
                "Unknown options: {}",
                parsed.words[3..].join(", ")
            )));
        }
        let rest = std::mem::take(parsed);
        let value = match service.as_str() {
            "kms" => kms::run(&ctx, &operation, rest).await?,
            "s3api" => s3api::run(&ctx, &operation, rest).await?,
            "iam" => iam::run_iam(&ctx, &operation, rest).await?,
            "sts" => iam::run_sts(&ctx, &operation, rest).await?,
            "cloudtrail" => cloudtrail::run(&ctx, &operation, rest).await?,
            "secretsmanager" => secretsmanager::run(&ctx, &operation, rest).await?,
            "s3" => return s3::run(&ctx, &operation, rest).await,
            _ => unreachable!("services are checked above"),
        };
        let value = match &query {
            Some(q) => output::query(&value, q).map_err(CmdError::Usage)?,
            None => value,
        };
        Ok(output::render(&value, format))
    }

    fn ls(&self) -> Result<String, CmdError> {
        let names = crate::confine::files(&self.workspace);
        Ok(names.iter().map(|n| format!("{n}\n")).collect())
    }

    fn cat(&self, name: Option<&String>) -> Result<String, CmdError> {
        let name = name.ok_or_else(|| CmdError::Usage("cat FILE".into()))?;
        let bytes = crate::confine::read(&self.workspace, name)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn rm(&self, names: &[String]) -> Result<String, CmdError> {
        if names.is_empty() {
            return Err(CmdError::Usage("rm FILE...".into()));
        }
        for name in names {
            crate::confine::remove(&self.workspace, name)?;
        }
        Ok(String::new())
    }
}

impl From<crate::confine::ConfineError> for CmdError {
    fn from(e: crate::confine::ConfineError) -> CmdError {
        match e {
            crate::confine::ConfineError::Io { .. } => CmdError::Other(e.to_string()),
            _ => CmdError::Usage(e.to_string()),
        }
    }
}

/// Parses a JSON value or fails with the CLI's wording.
pub fn json_param(name: &str, text: &str) -> Result<Value, CmdError> {
    serde_json::from_str(text).map_err(|e| {
        CmdError::Usage(format!(
            "Error parsing parameter '--{name}': Invalid JSON: {e}\nJSON received: {text}"
        ))
    })
}
