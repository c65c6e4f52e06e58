//! Runs an exercise's checks against the backend, the workspace and the engine's audit log.
//! Every check returns a result, never panics and never aborts the others: a learner's broken
//! file is a failed check whose message says what is wrong. Failed policy checks carry the
//! evaluator's trace.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::{Value, json};

use super::session::Session;
use super::{document, masking};
use crate::console::{CmdError, Ctx, crypto, kms};
use crate::pack::*;
use keylab_policy::{ContextKeys, Policies, PolicyDocument, PolicyKind, Request, ResourceRules};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not hold.
    Fail,
    /// It could not be evaluated (the backend failed, the pack is wrong).
    Error,
    /// The backend lacks a capability it needs; reported with the reason, never as a pass.
    #[serde(rename = "not_applicable")]
    NotApplicable,
}

impl Status {
    /// Pass or not applicable: nothing against the learner.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Pass | Status::NotApplicable)
    }

    /// The status in words, for reports and messages.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's title.
    pub title: String,
    /// Its task.
    pub task: Option<u32>,
    /// Pass, fail or error.
    pub status: Status,
    /// What was wrong (empty on pass).
    pub message: String,
    /// The policy evaluator's trace, for failed policy checks.
    pub trace: Option<String>,
    /// The check's kind.
    pub kind: &'static str,
    /// How long it took.
    pub duration_ms: u64,
}

/// Why a check did not pass: the learner's work (`error: false`) or the pack or backend.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    message: String,
    trace: Option<String>,
    error: bool,
}

/// A failure of the learner's work.
pub(super) fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        trace: None,
        error: false,
    }
}

/// A check that could not be evaluated (the pack or the backend is at fault).
pub(super) fn broken(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        trace: None,
        error: true,
    }
}

impl From<CmdError> for Failure {
    fn from(e: CmdError) -> Failure {
        match e {
            CmdError::Aws {
                code,
                message,
                operation,
            } => fail(format!("{operation} failed with {code}: {message}")),
            CmdError::Usage(m) | CmdError::Other(m) => broken(m),
        }
    }
}

fn kind_name(kind: &CheckKind) -> &'static str {
    match kind {
        CheckKind::Key(_) => "key",
        CheckKind::Alias(_) => "alias",
        CheckKind::BucketEncryption(_) => "bucket_encryption",
        CheckKind::Object(_) => "object",
        CheckKind::Simulate(_) => "simulate",
        CheckKind::Command(_) => "command",
        CheckKind::RoundTrip(_) => "round_trip",
        CheckKind::File(_) => "file",
        CheckKind::NoPlaintextKeys(_) => "no_plaintext_keys",
        CheckKind::Audit(_) => "audit",
        CheckKind::NoLeaks(_) => "no_leaks",
        CheckKind::Formats(_) => "formats",
        CheckKind::Joins(_) => "joins",
        CheckKind::KeyedTokens(_) => "keyed_tokens",
        CheckKind::PasswordHashes(_) => "password_hashes",
        CheckKind::KAnonymity(_) => "k_anonymity",
        CheckKind::Document(_) => "document",
    }
}

/// The masking run, made on first use and shared by the masking checks of one grading.
async fn masking_check(
    session: &Session,
    run: &mut Option<Result<masking::MaskRun, Failure>>,
    kind: &CheckKind,
) -> Result<(), Failure> {
    if run.is_none() {
        let spec = session
            .grader
            .masking
            .as_ref()
            .ok_or_else(|| broken("the grader has no [masking] table"))?;
        *run = Some(masking::prepare(session, spec).await);
    }
    match run.as_ref().expect("made above") {
        Ok(r) => masking::check(r, kind),
        Err(f) => Err(f.clone()),
    }
}

/// Whether a check reads only workspace files, so `keylab class collect` can run it again from
/// the files a results file carries. A document check that asks whether a value names a key
/// (`names_key`) asks the backend too, so it is not.
pub fn is_rerunnable(kind: &CheckKind) -> bool {
    match kind {
        CheckKind::File(_) => true,
        CheckKind::Document(c) => c.expect.iter().all(|e| e.names_key.is_none()),
        _ => false,
    }
}

/// What a grading looked at that can be shown to someone else: the workspace files the
/// re-runnable checks read (UTF-8, up to 256 KiB each) and the exercise's variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// Workspace files by path.
    pub files: BTreeMap<String, String>,
    /// The variables (names from the seed, values setup saved).
    pub vars: BTreeMap<String, String>,
}

/// The largest file [`evidence`] keeps.
const EVIDENCE_LIMIT: u64 = 256 * 1024;

/// Collects the [`Evidence`] of a session.
pub fn evidence(session: &Session) -> Evidence {
    let mut files = BTreeMap::new();
    for check in &session.grader.checks {
        let path = match &check.kind {
            CheckKind::File(c) => &c.path,
            CheckKind::Document(c) => &c.path,
            _ => continue,
        };
        let Ok(path) = session.substitute(path) else {
            continue;
        };
        let full = session.workspace.join(&path);
        let small =
            std::fs::metadata(&full).is_ok_and(|m| m.is_file() && m.len() <= EVIDENCE_LIMIT);
        if let Some(text) = small.then(|| std::fs::read_to_string(&full).ok()).flatten() {
            files.insert(path, text);
        }
    }
    Evidence {
        files,
        vars: session.vars.clone(),
    }
}

/// Runs every check of the session's grader, in order.
pub async fn run_checks(session: &Session) -> Vec<CheckResult> {
    run_checks_where(session, |_| true)
        .await
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

/// Runs the checks `keep` selects, in order, with their index in the grader.
pub async fn run_checks_where(
    session: &Session,
    keep: impl Fn(&Check) -> bool,
) -> Vec<(usize, CheckResult)> {
    let mut results = Vec::new();
    let mut mask_run = None;
    for (index, check) in session.grader.checks.iter().enumerate() {
        if !keep(check) {
            continue;
        }
        let started = std::time::Instant::now();
        let mut needs: Vec<&str> = check.needs.iter().map(String::as_str).collect();
        if matches!(check.kind, CheckKind::Audit(_)) {
            needs.push("audit_log");
        }
        if let Some(missing) = needs.iter().find(|n| !session.backend.capabilities.has(n)) {
            results.push((index, CheckResult {
                title: session.substitute(&check.title).unwrap_or_else(|_| check.title.clone()),
                task: check.task,
                status: Status::NotApplicable,
                message: format!(
                    "not applicable on {}: it does not provide {missing} (the built-in engine does)",
                    session.backend.name
                ),
                trace: None,
                kind: kind_name(&check.kind),
                duration_ms: 0,
            }));
            continue;
        }
        let outcome = if check.kind.is_masking() {
            masking_check(session, &mut mask_run, &check.kind).await
        } else {
            run_one(session, &check.kind).await
        };
        let (status, message, trace) = match outcome {
            Ok(()) => (Status::Pass, String::new(), None),
            Err(f) => {
                let message = match (&check.fail, f.error) {
                    (Some(m), false) => format!(
                        "{} ({})",
                        session.substitute(m).unwrap_or_else(|_| m.clone()),
                        f.message
                    ),
                    _ => f.message,
                };
                (
                    if f.error { Status::Error } else { Status::Fail },
                    message,
                    f.trace,
                )
            }
        };
        results.push((
            index,
            CheckResult {
                title: session
                    .substitute(&check.title)
                    .unwrap_or_else(|_| check.title.clone()),
                task: check.task,
                status,
                message,
                trace,
                kind: kind_name(&check.kind),
                duration_ms: started.elapsed().as_millis() as u64,
            },
        ));
    }
    results
}

fn sub(session: &Session, text: &str) -> Result<String, Failure> {
    session.substitute(text).map_err(broken)
}

fn ctx<'a>(session: &'a Session, profile: Option<&str>) -> Result<Ctx<'a>, Failure> {
    let profile = profile.unwrap_or("owner-admin");
    let settings = session.backend.settings(profile, true).map_err(broken)?;
    let profile = session
        .backend
        .profile(profile)
        .map_err(broken)?
        .profile
        .as_str();
    Ok(Ctx {
        settings,
        workspace: &session.workspace,
        backend: &session.backend,
        profile,
    })
}

async fn key_arn(ctx: &Ctx<'_>, key: &str) -> Result<String, Failure> {
    let out = kms::call(ctx, "DescribeKey", json!({ "KeyId": key })).await?;
    out.pointer("/KeyMetadata/Arn")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| broken("DescribeKey returned no ARN"))
}

async fn run_one(session: &Session, kind: &CheckKind) -> Result<(), Failure> {
    match kind {
        CheckKind::Key(c) => {
            let ctx = ctx(session, c.profile.as_deref())?;
            let key = sub(session, &c.key)?;
            let out = kms::call(&ctx, "DescribeKey", json!({ "KeyId": key })).await?;
            let state = out
                .pointer("/KeyMetadata/KeyState")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(want) = &c.state
                && want != state
            {
                return Err(fail(format!("key {key} is {state}, not {want}")));
            }
            if c.rotation.is_some() || c.rotation_days.is_some() {
                // GetKeyRotationStatus takes a key id or ARN, not an alias.
                let arn = out
                    .pointer("/KeyMetadata/Arn")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let r = kms::call(&ctx, "GetKeyRotationStatus", json!({ "KeyId": arn })).await?;
                let on = r
                    .get("KeyRotationEnabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if let Some(want) = c.rotation
                    && want != on
                {
                    return Err(fail(format!(
                        "automatic rotation of {key} is {}",
                        if on { "on" } else { "off" }
                    )));
                }
                let days = r.get("RotationPeriodInDays").and_then(Value::as_u64);
                if let Some(want) = c.rotation_days
                    && days != Some(u64::from(want))
                {
                    return Err(fail(format!(
                        "the rotation period of {key} is {} days, not {want}",
                        days.map_or("unset".to_string(), |d| d.to_string())
                    )));
                }
            }
            Ok(())
        }
        CheckKind::Alias(c) => {
            let ctx = ctx(session, c.profile.as_deref())?;
            let alias = sub(session, &c.alias)?;
            // Every page: a shared backend can hold more aliases than one page shows.
            let mut marker: Option<String> = None;
            let found = loop {
                let page = kms::call(&ctx, "ListAliases", json!({ "Marker": marker })).await?;
                let hit = page
                    .get("Aliases")
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .find(|x| x.get("AliasName").and_then(Value::as_str) == Some(&alias))
                    })
                    .cloned();
                if hit.is_some() {
                    break hit;
                }
                marker = page
                    .get("NextMarker")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if marker.is_none() {
                    break None;
                }
            };
            let found = found.ok_or_else(|| fail(format!("there is no alias {alias}")))?;
            if let Some(target) = &c.target {
                let want = key_arn(&ctx, &sub(session, target)?).await?;
                let got = found
                    .get("TargetKeyId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !want.ends_with(got) || got.is_empty() {
                    return Err(fail(format!("{alias} points to {got}, not {want}")));
                }
            }
            Ok(())
        }
        CheckKind::BucketEncryption(c) => {
            let ctx = ctx(session, c.profile.as_deref())?;
            let bucket = sub(session, &c.bucket)?;
            let client = crate::sdk::s3_client(&ctx.settings).map_err(|e| broken(e.to_string()))?;
            let out = client
                .get_bucket_encryption()
                .bucket(&bucket)
                .send()
                .await
                .map_err(|e| {
                    Failure::from(crate::console::s3api::sdk_error("GetBucketEncryption", e))
                })?;
            let rule = out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .ok_or_else(|| fail(format!("{bucket} has no encryption rule")))?;
            let by_default = rule.apply_server_side_encryption_by_default();
            let algorithm = by_default
                .map(|d| d.sse_algorithm().as_str().to_string())
                .unwrap_or_default();
            if let Some(want) = &c.algorithm
                && want != &algorithm
            {
                return Err(fail(format!(
                    "{bucket} encrypts with {algorithm} by default, not {want}"
                )));
            }
            if let Some(want) = &c.kms_key {
                let want = key_arn(&ctx, &sub(session, want)?).await?;
                let configured = by_default
                    .and_then(|d| d.kms_master_key_id())
                    .unwrap_or_default();
                if configured.is_empty() {
                    return Err(fail(format!(
                        "{bucket}'s default encryption names no KMS key (it would use aws/s3)"
                    )));
                }
                let got = key_arn(&ctx, configured).await?;
                if got != want {
                    return Err(fail(format!("{bucket}'s default key is {got}, not {want}")));
                }
            }
            if let Some(want) = c.bucket_key {
                let got = rule.bucket_key_enabled().unwrap_or(false);
                if got != want {
                    return Err(fail(format!(
                        "{bucket}'s bucket key is {}",
                        if got { "on" } else { "off" }
                    )));
                }
            }
            Ok(())
        }
        CheckKind::Object(c) => {
            let ctx = ctx(session, c.profile.as_deref())?;
            let (bucket, key) = (sub(session, &c.bucket)?, sub(session, &c.key)?);
            let client = crate::sdk::s3_client(&ctx.settings).map_err(|e| broken(e.to_string()))?;
            let head = client.head_object().bucket(&bucket).key(&key).send().await;
            let head = match head {
                Ok(h) => h,
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if status == Some(400) && c.encryption.as_deref() == Some("SSE-C") {
                        return Ok(());
                    }
                    return Err(match status {
                        Some(404) => fail(format!("s3://{bucket}/{key} does not exist")),
                        _ => Failure::from(crate::console::s3api::sdk_error("HeadObject", e)),
                    });
                }
            };
            let sse = head
                .server_side_encryption()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            if let Some(want) = &c.encryption
                && want != &sse
            {
                return Err(fail(format!(
                    "s3://{bucket}/{key} is encrypted with {}, not {want}",
                    if sse.is_empty() {
                        "SSE-C or nothing"
                    } else {
                        &sse
                    }
                )));
            }
            if let Some(want) = &c.kms_key {
                let want = key_arn(&ctx, &sub(session, want)?).await?;
                let got = head.ssekms_key_id().unwrap_or_default();
                if got != want {
                    return Err(fail(format!(
                        "s3://{bucket}/{key} uses key {got}, not {want}"
                    )));
                }
            }
            let metadata = head.metadata().cloned().unwrap_or_default();
            for (k, v) in &c.metadata {
                match metadata.get(k) {
                    None => return Err(fail(format!("s3://{bucket}/{key} has no metadata {k}"))),
                    Some(got) if v != "*" && got != &sub(session, v)? => {
                        return Err(fail(format!(
                            "metadata {k} of s3://{bucket}/{key} is {got}"
                        )));
                    }
                    Some(_) => {}
                }
            }
            for k in &c.no_metadata {
                if metadata.contains_key(k) {
                    return Err(fail(format!(
                        "s3://{bucket}/{key} must not have metadata {k}"
                    )));
                }
            }
            Ok(())
        }
        CheckKind::Simulate(c) => simulate(session, c).await,
        CheckKind::Command(c) => {
            let line = sub(session, &c.run)?;
            let console = session.console_as(
                c.profile
                    .as_deref()
                    .unwrap_or(&session.exercise.spec.profile),
            );
            let outcome = console.run(&line).await;
            // A file the command reads that the learner has not written yet is their step
            // still to do, not a broken check.
            if outcome.code == 252 && outcome.stderr.contains("Unable to load paramfile") {
                return Err(fail(format!(
                    "`{line}` cannot run yet: {}",
                    outcome.stderr.trim()
                )));
            }
            if outcome.code == 252 {
                return Err(broken(format!(
                    "the check's command is not valid: {}",
                    outcome.stderr.trim()
                )));
            }
            if c.succeeds != outcome.is_success() {
                return Err(fail(if c.succeeds {
                    format!("`{line}` failed: {}", outcome.stderr.trim())
                } else {
                    format!("`{line}` succeeded but must be refused")
                }));
            }
            if let Some(code) = &c.error_code
                && outcome.error_code.as_deref() != Some(code)
            {
                return Err(fail(format!(
                    "`{line}` failed with {} instead of {code}",
                    outcome.error_code.as_deref().unwrap_or("no AWS error code")
                )));
            }
            if let Some(text) = &c.output_contains
                && !outcome.stdout.contains(&sub(session, text)?)
            {
                return Err(fail(format!(
                    "the output of `{line}` does not contain {text}"
                )));
            }
            Ok(())
        }
        CheckKind::RoundTrip(c) => {
            let ctx = ctx(session, c.profile.as_deref())?;
            let encrypted = sub(session, &c.encrypted)?;
            let original_path = session.workspace.join(sub(session, &c.original)?);
            let original =
                std::fs::read(&original_path).map_err(|e| fail(format!("{}: {e}", c.original)))?;
            let plaintext = if let Some(url) = encrypted.strip_prefix("s3://") {
                let (bucket, key) = url.split_once('/').unwrap_or((url, ""));
                let (meta, body) = crypto::fetch(&ctx, bucket, key).await?;
                crypto::open(&ctx, &meta, &body)
                    .await
                    .map_err(|e| match e {
                        CmdError::Usage(m) | CmdError::Other(m) => {
                            fail(format!("{encrypted} is not a client-side envelope: {m}"))
                        }
                        aws => aws.into(),
                    })?
                    .to_vec()
            } else {
                let path = session.workspace.join(&encrypted);
                let body = std::fs::read(&path).map_err(|e| fail(format!("{encrypted}: {e}")))?;
                let meta_path = session.workspace.join(format!("{encrypted}.meta.json"));
                match std::fs::read(&meta_path) {
                    Ok(meta) => {
                        let meta: BTreeMap<String, String> = serde_json::from_slice(&meta)
                            .map_err(|e| {
                                fail(format!(
                                    "{encrypted}.meta.json is not envelope metadata: {e}"
                                ))
                            })?;
                        crypto::open(&ctx, &meta, &body).await?.to_vec()
                    }
                    Err(_) => {
                        let blob = crypto::blob_bytes(&body);
                        let out = kms::call(
                            &ctx,
                            "Decrypt",
                            json!({ "CiphertextBlob": STANDARD.encode(blob) }),
                        )
                        .await?;
                        STANDARD
                            .decode(
                                out.get("Plaintext")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default(),
                            )
                            .map_err(|_| broken("Decrypt returned no plaintext"))?
                    }
                }
            };
            if plaintext != original {
                return Err(fail(format!(
                    "{encrypted} decrypts to something other than {}",
                    c.original
                )));
            }
            Ok(())
        }
        CheckKind::File(c) => {
            let name = sub(session, &c.path)?;
            let path = session.workspace.join(&name);
            let exists = path.is_file();
            if let Some(want) = c.exists
                && want != exists
            {
                return Err(fail(if want {
                    format!("{name} is not in the workspace")
                } else {
                    format!("{name} must not be left in the workspace")
                }));
            }
            if !exists {
                return Ok(());
            }
            let bytes = std::fs::read(&path).map_err(|e| fail(format!("{name}: {e}")))?;
            if c.json {
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| fail(format!("{name} is not valid JSON: {e}")))?;
            }
            if let Some(text) = &c.contains
                && !String::from_utf8_lossy(&bytes).contains(&sub(session, text)?)
            {
                return Err(fail(format!("{name} does not contain {text}")));
            }
            Ok(())
        }
        CheckKind::NoPlaintextKeys(c) => no_plaintext_keys(session, c).await,
        CheckKind::Document(c) => document_check(session, c).await,
        CheckKind::Audit(c) => {
            let engine = session
                .backend
                .engine
                .as_ref()
                .ok_or_else(|| broken("audit checks need the built-in engine"))?;
            if let Some(p) = &c.profile {
                session.backend.profile(p).map_err(broken)?;
            }
            let context: BTreeMap<String, String> = c
                .context
                .iter()
                .map(|(k, v)| Ok((k.clone(), sub(session, v)?)))
                .collect::<Result<_, Failure>>()?;
            let count = engine
                .audit()
                .events()
                .iter()
                .filter(|e| e.event_name == c.operation)
                .filter(|e| e.error_code.is_some() == c.failed)
                .filter(|e| {
                    c.profile
                        .as_ref()
                        .is_none_or(|p| e.user_identity.as_ref().is_some_and(|u| &u.profile == p))
                })
                .filter(|e| {
                    context.iter().all(|(k, v)| {
                        e.encryption_context.as_ref().and_then(|c| c.get(k)) == Some(v)
                    })
                })
                .count() as u32;
            let at_least = c
                .at_least
                .unwrap_or(if c.at_most.is_some() { 0 } else { 1 });
            let what = format!(
                "{} {}{} call{}",
                if c.failed { "failed" } else { "successful" },
                c.operation,
                if context.is_empty() {
                    String::new()
                } else {
                    format!(
                        " with encryption context {}",
                        serde_json::to_string(&context).unwrap_or_default()
                    )
                },
                if count == 1 { "" } else { "s" }
            );
            if count < at_least {
                return Err(fail(format!(
                    "the audit log has {count} {what}; expected at least {at_least}"
                )));
            }
            if let Some(most) = c.at_most
                && count > most
            {
                return Err(fail(format!(
                    "the audit log has {count} {what}; expected at most {most}"
                )));
            }
            Ok(())
        }
        _ => Err(broken("masking checks run through the masking run")),
    }
}

async fn simulate(session: &Session, c: &SimulateCheck) -> Result<(), Failure> {
    let identities = session.backend.identities();
    let owner = ctx(session, Some(&session.exercise.spec.profile))?;
    let target = sub(session, &c.policy)?;
    let (text, rules, default_resource, resource_account, name) =
        if let Some(bucket) = target.strip_prefix("bucket:") {
            let policy = read_bucket_policy(session, bucket).await?;
            let account = session
                .backend
                .account_of(&session.exercise.spec.profile)
                .unwrap_or_default()
                .to_string();
            (
                policy,
                ResourceRules::Standard,
                None,
                account,
                format!("bucket policy of {bucket}"),
            )
        } else if let Some(key) = target.strip_prefix("key:") {
            let arn = key_arn(&owner, key).await?;
            let out = kms::call(
                &owner,
                "GetKeyPolicy",
                json!({ "KeyId": arn, "PolicyName": "default" }),
            )
            .await?;
            let account = arn.split(':').nth(4).unwrap_or_default().to_string();
            (
                out.get("Policy")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ResourceRules::Kms,
                Some(arn),
                account,
                "key policy".to_string(),
            )
        } else {
            return Err(broken(format!(
                "policy = \"{target}\": write bucket:<name> or key:<key id or alias>"
            )));
        };
    let doc = match &text {
        Some(t) => Some(
            PolicyDocument::parse(t, PolicyKind::Resource)
                .map_err(|e| fail(format!("the {name} does not parse: {}", e.0)))?,
        ),
        None => None,
    };
    for r in &c.request {
        let identity = identities
            .by_profile(&r.profile)
            .ok_or_else(|| broken(format!("no lab identity {}", r.profile)))?;
        let resource = match (&r.resource, &default_resource) {
            (Some(res), _) => sub(session, res)?,
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(broken(
                    "a bucket request needs resource = \"arn:aws:s3:::…\"",
                ));
            }
        };
        let mut context = ContextKeys::new();
        context.set("aws:SecureTransport", r.secure.to_string());
        context.set("aws:PrincipalArn", identity.caller.principal_arn.clone());
        context.set("aws:PrincipalAccount", identity.caller.account.clone());
        if rules == ResourceRules::Kms {
            context.set("kms:CallerAccount", identity.caller.account.clone());
        }
        for (k, v) in &r.context {
            context.set(k, sub(session, v)?);
        }
        let identity_policies = identities.policies_of(&identity.profile);
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: doc.as_ref().map(|d| (name.clone(), d)),
            rules,
            grants: Vec::new(),
        };
        let request = Request {
            caller: &identity.caller,
            action: &r.action,
            resource: &resource,
            resource_account: &resource_account,
            context: &context,
        };
        let decision = keylab_policy::decide(&request, &policies);
        let want = r.expect == Expect::Allow;
        if decision.allowed != want {
            return Err(Failure {
                message: format!(
                    "{} {} on {} over {} should be {} but is {}",
                    r.profile,
                    r.action,
                    resource,
                    if r.secure { "HTTPS" } else { "plain HTTP" },
                    if want { "allowed" } else { "denied" },
                    if decision.allowed {
                        "allowed"
                    } else {
                        "denied"
                    },
                ),
                trace: Some(decision.to_string()),
                error: false,
            });
        }
    }
    Ok(())
}

/// The bucket policy as the owner reads it: over HTTPS, or over plain HTTP when the policy
/// denies HTTPS (the `"true"` mistake locks HTTPS out, and the grader must still see it).
async fn read_bucket_policy(session: &Session, bucket: &str) -> Result<Option<String>, Failure> {
    let mut denied = None;
    for https in [true, false] {
        let settings = session
            .backend
            .settings(&session.exercise.spec.profile, https)
            .map_err(broken)?;
        let client = crate::sdk::s3_client(&settings).map_err(|e| broken(e.to_string()))?;
        match client.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => return Ok(out.policy().map(str::to_string)),
            Err(e) => match crate::console::s3api::sdk_error("GetBucketPolicy", e) {
                CmdError::Aws { code, .. } if code == "NoSuchBucketPolicy" => return Ok(None),
                CmdError::Aws { code, .. } if code == "AccessDenied" => {
                    denied = Some(CmdError::Aws {
                        code,
                        message: format!("the owner cannot read the bucket policy of {bucket}"),
                        operation: "GetBucketPolicy".into(),
                    })
                }
                other => return Err(other.into()),
            },
        }
    }
    Err(denied
        .map(Failure::from)
        .unwrap_or_else(|| broken("GetBucketPolicy failed")))
}

fn find_key(hay: &[u8], key: &[u8]) -> bool {
    let b64 = STANDARD.encode(key);
    hay.windows(key.len()).any(|w| w == key) || hay.windows(b64.len()).any(|w| w == b64.as_bytes())
}

async fn no_plaintext_keys(session: &Session, c: &NoPlaintextKeysCheck) -> Result<(), Failure> {
    let ctx = ctx(
        session,
        Some(
            c.profile
                .as_deref()
                .unwrap_or(&session.exercise.spec.profile),
        ),
    )?;
    let files: Vec<(String, Vec<u8>)> = crate::console::workspace_files(&session.workspace)
        .into_iter()
        .filter_map(|name| {
            let bytes = std::fs::read(session.workspace.join(&name)).ok()?;
            Some((name, bytes))
        })
        .collect();
    let mut wrapped: Vec<(String, Value)> = Vec::new();
    for (name, bytes) in &files {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        if v.get("Plaintext").is_some() {
            return Err(fail(format!(
                "{name} holds a plaintext data key (the Plaintext field of generate-data-key): delete it once the data is encrypted"
            )));
        }
        if let Some(b) = v.get("CiphertextBlob").and_then(Value::as_str) {
            wrapped.push((name.clone(), json!({ "CiphertextBlob": b })));
        }
        if let (Some(b), Some(m)) = (
            v.get("x-amz-key-v2").and_then(Value::as_str),
            v.get("x-amz-matdesc").and_then(Value::as_str),
        ) {
            let context: Value = serde_json::from_str(m).unwrap_or(json!({}));
            wrapped.push((
                name.clone(),
                json!({ "CiphertextBlob": b, "EncryptionContext": context }),
            ));
        }
    }
    for (source, request) in wrapped {
        let Ok(out) = kms::call(&ctx, "Decrypt", request).await else {
            continue;
        };
        let Some(key) = out
            .get("Plaintext")
            .and_then(Value::as_str)
            .and_then(|p| STANDARD.decode(p).ok())
        else {
            continue;
        };
        if let Some((name, _)) = files.iter().find(|(_, bytes)| find_key(bytes, &key)) {
            return Err(fail(format!(
                "{name} contains the plaintext of the data key wrapped in {source}: keep only the wrapped key"
            )));
        }
    }
    Ok(())
}

/// A configuration document: parsed, validated as the API's input, then each `expect` tested.
async fn document_check(session: &Session, c: &DocumentCheck) -> Result<(), Failure> {
    let name = sub(session, &c.path)?;
    let bytes = std::fs::read(session.workspace.join(&name))
        .map_err(|_| fail(format!("{name} is not in the workspace")))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!(
            "{name} is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let problems = document::validate(c.api, &doc);
    if !problems.is_empty() {
        return Err(fail(format!(
            "{name} is not valid input for {}: {}",
            document::api_name(c.api),
            problems.join("; ")
        )));
    }
    for e in &c.expect {
        let found = document::lookup(&doc, &e.pointer);
        if e.absent {
            if found.is_some() {
                return Err(fail(format!("{}: {} must not be set", e.fail, e.pointer)));
            }
            continue;
        }
        let Some(found) = found else {
            return Err(fail(format!("{}: {} is not set", e.fail, e.pointer)));
        };
        if let Some(want) = &e.equals
            && substituted(session, want)? != *found
        {
            return Err(fail(format!("{}: {} is {found}", e.fail, e.pointer)));
        }
        if !e.one_of.is_empty() {
            let mut any = false;
            for want in &e.one_of {
                any |= substituted(session, want)? == *found;
            }
            if !any {
                return Err(fail(format!("{}: {} is {found}", e.fail, e.pointer)));
            }
        }
        if let Some(key) = &e.names_key {
            let named = found
                .as_str()
                .ok_or_else(|| fail(format!("{}: {} is not a key name", e.fail, e.pointer)))?;
            let ctx = ctx(session, None)?;
            let want = key_arn(&ctx, &sub(session, key)?).await?;
            let got = key_arn(&ctx, named).await.map_err(|_| {
                fail(format!(
                    "{}: {} is {named}, which names no key in the lab",
                    e.fail, e.pointer
                ))
            })?;
            if got != want {
                return Err(fail(format!(
                    "{}: {} names {got}, not the key {key}",
                    e.fail, e.pointer
                )));
            }
        }
    }
    Ok(())
}

/// A JSON value from the grader with its `{{variables}}` filled in.
fn substituted(session: &Session, value: &Value) -> Result<Value, Failure> {
    Ok(match value {
        Value::String(s) => Value::String(sub(session, s)?),
        other => other.clone(),
    })
}
