//! Runs an exercise's checks against the backend, the workspace and the engine's audit log.
//! Every check returns a result, never panics and never aborts the others: a learner's broken
//! file is a failed check whose message says what is wrong. Failed policy checks carry the
//! evaluator's trace.

use std::collections::BTreeMap;

pub use super::check::{CheckResult, Status};
use super::checks;
use super::session::Session;
use crate::pack::*;

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
        let small = crate::confine::file_size(&session.workspace, &path)
            .is_some_and(|len| len <= EVIDENCE_LIMIT);
        if let Some(text) = small
            .then(|| crate::confine::read_text(&session.workspace, &path).ok())
            .flatten()
        {
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
        let mut needs = check.needs.clone();
        if matches!(check.kind, CheckKind::Audit(_)) {
            needs.push(Capability::AuditLog);
        }
        if let Some(missing) = needs
            .iter()
            .find(|&&n| !session.backend.capabilities.has(n))
        {
            results.push((index, CheckResult {
                title: session.substitute(&check.title).unwrap_or_else(|_| check.title.clone()),
                task: check.task,
                status: Status::NotApplicable,
                message: format!(
                    "not applicable on {}: it does not provide {missing} (the built-in engine does)",
                    session.backend.name
                ),
                trace: None,
                kind: check.kind.name(),
                duration_ms: 0,
            }));
            continue;
        }
        let outcome = checks::run(session, &check.kind, &mut mask_run).await;
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
                kind: check.kind.name(),
                duration_ms: started.elapsed().as_millis() as u64,
            },
        ));
    }
    results
}
