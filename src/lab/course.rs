//! The learner's transactions, written once for every front end (the command line, the
//! terminal app and plain mode), which only format what these return: where an exercise
//! stands ([`state_of`]), opening and resetting its session ([`open`], [`reset`]), grading an
//! explicit check and recording it with its review ([`record_check`]), the next hint
//! ([`next_hint`]), and the environment of the learner's own shell ([`shell_env`]).
//!
//! Only an explicit check is an attempt: a front end that checks on its own (after the
//! learner's shell or editor) shows the results without calling [`record_check`], so the
//! spaced-repetition schedule rates only what the learner asked for.

use chrono::{DateTime, Utc};

use super::check::{CheckResult, Status};
use super::grader::Evidence;
use super::progress::{DataDir, Progress};
use super::session::{LabError, Session, Target, reset_folder};
use crate::backend::Backend;
use crate::pack::{Exercise, Pack};
use crate::study::srs::{Rating, exercise_card};

/// Where an exercise stands for the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExerciseState {
    /// Never checked, no hint taken.
    New,
    /// Checked or hinted, not passed yet.
    Started,
    /// Passed.
    Passed,
    /// Passed, and its card is due: reset it and solve it again.
    Due,
}

impl ExerciseState {
    /// The state in words, as every front end shows it.
    pub fn word(self) -> &'static str {
        match self {
            ExerciseState::New => "not started",
            ExerciseState::Started => "in progress",
            ExerciseState::Passed => "done",
            ExerciseState::Due => "due for review",
        }
    }

    /// A one-character mark that stands beside the word (never instead of it).
    pub fn mark(self) -> &'static str {
        match self {
            ExerciseState::New => " ",
            ExerciseState::Started => "~",
            ExerciseState::Passed => "✓",
            ExerciseState::Due => "↻",
        }
    }
}

/// Where `exercise` stands in `progress` at `now`.
pub fn state_of(progress: &Progress, exercise: &str, now: DateTime<Utc>) -> ExerciseState {
    let Some(p) = progress.exercises.get(exercise) else {
        return ExerciseState::New;
    };
    if p.passed_at.is_some() && progress.deck.is_due(&exercise_card(exercise), now) {
        return ExerciseState::Due;
    }
    if p.passed_at.is_some() {
        return ExerciseState::Passed;
    }
    if p.attempts > 0 || p.hints_used > 0 {
        return ExerciseState::Started;
    }
    ExerciseState::New
}

/// The folder of an exercise on a target: the engine's own, or one per shared backend.
pub fn lab_folder(data: &DataDir, exercise: &str, target: &Target) -> std::path::PathBuf {
    data.lab_on(exercise, target_name(target))
}

/// The target's name in folder names and reports.
pub fn target_name(target: &Target) -> &str {
    match target {
        Target::Engine => "engine",
        Target::Shared(b) => &b.name,
    }
}

/// Opens an exercise's session on `target` in its folder (setting it up the first time).
pub async fn open(
    pack: &Pack,
    data: &DataDir,
    seed: u64,
    target: &Target,
    exercise: &str,
) -> Result<Session, LabError> {
    let root = lab_folder(data, exercise, target);
    Session::open_on(pack, exercise, &root, seed, target).await
}

/// Puts an exercise's workspace and backend state back to its setup and opens it again.
/// Records the reset, which starts a fresh attempt; the caller saves the progress.
pub async fn reset(
    pack: &Pack,
    data: &DataDir,
    progress: &mut Progress,
    target: &Target,
    exercise: &str,
    now: DateTime<Utc>,
) -> Result<Session, LabError> {
    progress.record_reset(exercise, now);
    reset_folder(&lab_folder(data, exercise, target), target)?;
    open(pack, data, progress.seed, target, exercise).await
}

/// What an explicit check did.
#[derive(Debug, Clone)]
pub struct Graded {
    /// Every check's result, in the grader's order.
    pub results: Vec<CheckResult>,
    /// The summary: pass when every check passed (or does not apply), else the worst status.
    pub status: Status,
    /// How many checks passed (or do not apply).
    pub passed: usize,
    /// The review the exercise's card got, if this check was one.
    pub review: Option<Rating>,
    /// Hints taken so far, and whether more are left.
    pub hints_used: u32,
    /// Whether the ladder has more hints.
    pub more_hints: bool,
}

impl Graded {
    /// Whether the exercise passed.
    pub fn is_pass(&self) -> bool {
        self.status == Status::Pass
    }
}

/// The summary status of a list of results: pass when every check is ok (an empty list is
/// not a pass), else error when any errored, else fail.
pub fn summary_status(results: &[CheckResult]) -> Status {
    if !results.is_empty() && results.iter().all(|r| r.status.is_ok()) {
        Status::Pass
    } else if results.iter().any(|r| r.status == Status::Error) {
        Status::Error
    } else {
        Status::Fail
    }
}

/// Records an explicit check of `exercise`: its results and evidence (for `keylab submit`),
/// the attempt, and the review of its card. The caller saves the progress.
pub fn record_check(
    progress: &mut Progress,
    exercise: &Exercise,
    results: Vec<CheckResult>,
    evidence: Evidence,
    now: DateTime<Utc>,
) -> Graded {
    let status = summary_status(&results);
    let passed = results.iter().filter(|r| r.status.is_ok()).count();
    progress.record_results(&exercise.id, &results, evidence);
    let review = progress.record_check(&exercise.id, exercise.spec.difficulty, status, now);
    let hints_used = progress.entry(&exercise.id).hints_used;
    Graded {
        results,
        status,
        passed,
        review,
        hints_used,
        more_hints: (hints_used as usize) < exercise.spec.hints.len(),
    }
}

/// One rung of the hint ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// Its number, from 1.
    pub number: usize,
    /// How many there are.
    pub total: usize,
    /// The hint.
    pub text: String,
}

/// Reveals the next hint of `exercise` (the last one again once all are shown) and records
/// it; returns every hint shown so far, in order. The caller saves the progress.
pub fn next_hint(progress: &mut Progress, exercise: &Exercise, now: DateTime<Utc>) -> Vec<Hint> {
    let total = exercise.spec.hints.len();
    let shown = progress.record_hint(&exercise.id, total, now) as usize;
    exercise
        .spec
        .hints
        .iter()
        .take(shown)
        .enumerate()
        .map(|(i, text)| Hint {
            number: i + 1,
            total,
            text: text.trim().to_string(),
        })
        .collect()
}

/// The environment of the learner's own shell (or any tool: the AWS CLI, boto3, Terraform)
/// acting as `profile` against `backend`, reached at `https` (and `http` for plain-HTTP
/// requests): credentials, region, endpoint and the CA to trust. With `config_dir`, an AWS
/// config and credentials file with every lab identity as a named profile are written there
/// (owner-only) and named by `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`, so `aws
/// --profile partner-admin …` works as it would at work.
pub fn shell_env(
    backend: &Backend,
    profile: &str,
    http: &str,
    https: &str,
    config_dir: Option<&std::path::Path>,
) -> Result<Vec<(String, String)>, String> {
    let p = backend.profile(profile)?;
    let mut vars = vec![
        ("AWS_ENDPOINT_URL".to_string(), https.to_string()),
        ("AWS_DEFAULT_REGION".to_string(), backend.region.clone()),
        ("AWS_ACCESS_KEY_ID".to_string(), p.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY".to_string(),
            p.secret_access_key.to_string(),
        ),
        ("KEYLAB_HTTP_ENDPOINT".to_string(), http.to_string()),
        ("KEYLAB_PROFILE".to_string(), profile.to_string()),
    ];
    if let Some(ca) = &backend.ca_path {
        vars.push(("AWS_CA_BUNDLE".to_string(), ca.display().to_string()));
    }
    let Some(dir) = config_dir else {
        return Ok(vars);
    };
    let mut config = String::new();
    let mut credentials = zeroize::Zeroizing::new(String::new());
    for id in &backend.profiles {
        config.push_str(&format!(
            "[profile {}]\nregion = {}\nendpoint_url = {https}\n",
            id.profile, backend.region
        ));
        if let Some(ca) = &backend.ca_path {
            config.push_str(&format!("ca_bundle = {}\n", ca.display()));
        }
        config.push('\n');
        credentials.push_str(&format!(
            "[{}]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n",
            id.profile,
            id.access_key_id,
            id.secret_access_key.as_str()
        ));
    }
    // Role profiles (the engine's roles): `aws --profile partner-analyst-in-owner …` assumes
    // the role through the engine's STS, as a role profile does at work.
    let roles = backend
        .engine
        .as_ref()
        .map(|e| e.identities().role_profiles().to_vec())
        .unwrap_or_default();
    for role in &roles {
        config.push_str(&format!(
            "[profile {}]\nrole_arn = {}\nsource_profile = {}\nregion = {}\nendpoint_url = {https}\n",
            role.name, role.role_arn, role.source_profile, backend.region
        ));
        if let Some(ca) = &backend.ca_path {
            config.push_str(&format!("ca_bundle = {}\n", ca.display()));
        }
        config.push('\n');
    }
    let config_path = dir.join("aws-config");
    let credentials_path = dir.join("aws-credentials");
    keylab_engine::fsutil::write_atomic(&config_path, config.as_bytes())
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    keylab_engine::fsutil::write_atomic(&credentials_path, credentials.as_bytes())
        .map_err(|e| format!("{}: {e}", credentials_path.display()))?;
    vars.push((
        "AWS_CONFIG_FILE".to_string(),
        config_path.display().to_string(),
    ));
    vars.push((
        "AWS_SHARED_CREDENTIALS_FILE".to_string(),
        credentials_path.display().to_string(),
    ));
    Ok(vars)
}
