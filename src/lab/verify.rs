//! `keylab verify`: proves a pack works. For every exercise on every chosen backend, in fresh
//! folders: set up → the checks must fail (the starting state is not already a pass) → run the
//! reference solution → the checks must pass → for each known-wrong variant: set up afresh, run
//! it → the checks must fail. Scripts run in the console ([`crate::console::Console::run_script`]:
//! a line starting with `!` is expected to fail); a solution line that does not do what it
//! should is reported, while wrong variants run every line whatever happens, as a learner's
//! mistakes would.

use std::path::Path;
use std::time::Instant;

use super::grader::{Status, run_checks};
use super::report::{Case, Summary};
use super::session::{Session, Target, remove_dir};
use crate::pack::{Attempt, BackendKind, Exercise, Pack};

/// The stage of a verification, for progress reports.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Stages done.
    pub done: usize,
    /// Stages in all.
    pub total: usize,
    /// What is running.
    pub label: String,
}

/// Runs a script's lines in the session's console (with `{{var}}` filled in). With `strict`,
/// reports the first line that does not do what it should.
pub async fn run_script(session: &Session, script: &str, strict: bool) -> Result<(), String> {
    let script = session.substitute(script)?;
    let steps = session.console().run_script(&script, !strict).await;
    match steps.into_iter().find(|s| !s.as_expected) {
        Some(s) if strict && s.expect_failure => Err(format!(
            "line {}: `{}` was expected to fail but succeeded",
            s.line_number, s.line
        )),
        Some(s) if strict => Err(format!(
            "line {}: `{}` failed: {}",
            s.line_number,
            s.line,
            s.outcome.stderr.trim()
        )),
        _ => Ok(()),
    }
}

/// Writes an attempt's files into the workspace, with `{{var}}` filled in text files.
pub fn write_files(session: &Session, attempt: &Attempt) -> Result<(), String> {
    for (name, bytes) in &attempt.files {
        let bytes = match std::str::from_utf8(bytes) {
            Ok(text) => session.substitute(text)?.into_bytes(),
            Err(_) => bytes.clone(),
        };
        crate::confine::write(&session.workspace, name, &bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn stages(exercise: &Exercise, pack: &Pack) -> usize {
    2 + pack.graders.get(&exercise.id).map_or(0, |g| g.wrong.len())
}

/// Verifies every exercise of `pack` that supports `backend`, in folders under `scratch`,
/// with the built-in engine or the shared backend of `target`. Each stage takes its own names
/// (the seed plus the stage's number), so stages never meet on a shared backend.
pub async fn verify(
    pack: &Pack,
    backend: BackendKind,
    target: &Target,
    scratch: &Path,
    seed: u64,
    mut progress: impl FnMut(Progress),
) -> Summary {
    let exercises: Vec<&Exercise> = pack
        .exercises
        .iter()
        .filter(|x| x.spec.backends.contains(&backend))
        .collect();
    let total = exercises.iter().map(|x| stages(x, pack)).sum();
    // A shared backend keeps what earlier runs made: this run takes names of its own.
    let seed = match target {
        Target::Engine => seed,
        Target::Shared(_) => seed ^ (rand::random::<u64>() >> 16),
    };
    let mut done = 0;
    let mut summary = Summary::default();
    let backend_name = match backend {
        BackendKind::Engine => "engine",
        BackendKind::Localstack => "localstack",
    };
    summary.extra.insert("backend".into(), backend_name.into());
    if let Target::Shared(b) = target {
        summary.extra.insert(
            "missing_capabilities".into(),
            serde_json::json!(b.capabilities.missing()),
        );
    }
    summary.extra.insert("seed".into(), seed.into());
    for exercise in exercises {
        let suite = format!("{} [{backend_name}]", exercise.id);
        let grader = &pack.graders[&exercise.id];
        let mut runs: Vec<(String, Option<(&Attempt, bool)>)> = vec![
            ("starting state fails".into(), None),
            ("solution passes".into(), Some((&grader.solution, true))),
        ];
        for (name, attempt) in &grader.wrong {
            runs.push((
                format!("wrong variant '{name}' fails"),
                Some((attempt, false)),
            ));
        }
        for (i, (name, script)) in runs.into_iter().enumerate() {
            progress(Progress {
                done,
                total,
                label: format!("{} {name}", exercise.id),
            });
            let started = Instant::now();
            let dir = scratch.join(&exercise.id).join(i.to_string());
            let stage_seed = seed.wrapping_add(done as u64);
            let (status, message) =
                run_stage(pack, exercise, &dir, stage_seed, target, script).await;
            let _ = remove_dir(&dir);
            let (message, output) = match status {
                Status::Pass if !message.is_empty() => (String::new(), Some(message)),
                _ => (message, None),
            };
            summary.cases.push(Case {
                suite: suite.clone(),
                name,
                status,
                message,
                output,
                task: None,
                test_code: match (i, script) {
                    (0, _) => "setup, then the checks must not all pass".into(),
                    (_, Some((_, true))) => {
                        "setup, the solution, then every check must pass".into()
                    }
                    _ => "setup, the variant, then a check must fail".into(),
                },
                duration_ms: started.elapsed().as_millis() as u64,
            });
            done += 1;
        }
    }
    progress(Progress {
        done,
        total,
        label: "done".into(),
    });
    summary
}

async fn run_stage(
    pack: &Pack,
    exercise: &Exercise,
    dir: &Path,
    seed: u64,
    target: &Target,
    script: Option<(&Attempt, bool)>,
) -> (Status, String) {
    let _ = remove_dir(dir);
    let session = match Session::open_on(pack, &exercise.id, dir, seed, target).await {
        Ok(s) => s,
        Err(e) => return (Status::Error, e.to_string()),
    };
    let mut script_error = None;
    if let Some((attempt, strict)) = script {
        script_error = match write_files(&session, attempt) {
            Ok(()) => run_script(&session, &attempt.script, strict).await.err(),
            Err(e) => Some(e),
        };
    }
    let results = run_checks(&session).await;
    session.shutdown().await;
    if let Some(e) = script_error {
        return (Status::Fail, format!("the solution does not run: {e}"));
    }
    if let Some(r) = results.iter().find(|r| r.status == Status::Error) {
        return (
            Status::Error,
            format!("check \"{}\" could not run: {}", r.title, r.message),
        );
    }
    // Each failed check with its message, so an author sees why a variant was caught.
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.status.is_ok())
        .map(|r| format!("\"{}\": {}", r.title, r.message))
        .collect();
    match script {
        Some((_, true)) if !failed.is_empty() => (
            Status::Fail,
            format!("the reference solution fails: {}", failed.join("; ")),
        ),
        Some((_, true)) => (Status::Pass, String::new()),
        None if failed.is_empty() => (
            Status::Fail,
            "the starting state already passes every check: the grader proves nothing".into(),
        ),
        Some((_, false)) if failed.is_empty() => (
            Status::Fail,
            "this known-wrong variant passes every check: the grader misses the misconception"
                .into(),
        ),
        _ => (Status::Pass, format!("caught by: {}", failed.join("; "))),
    }
}
