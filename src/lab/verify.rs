//! `keylab verify`: proves a pack works. For every exercise on every chosen backend, in fresh
//! folders: set up → the checks must fail (the starting state is not already a pass) → run the
//! reference solution → the checks must pass → for each known-wrong variant: set up afresh, run
//! it → the checks must fail. Scripts run in the console ([`crate::console::Console::run_script`]:
//! a line starting with `!` is expected to fail); a solution line that does not do what it
//! should is reported.
//!
//! A wrong variant proves something only when it makes its mistake, so a variant is judged on
//! more than "a check failed": it must run cleanly (a usage or parse error — exit 252 —, a
//! console error — exit 255 — or a malformed document, whether a `Malformed…` refusal or a
//! `.json`/`.toml` file that does not parse, makes it a broken variant unless the line is
//! marked `!`), it must change something (the checks it fails, with what each saw, are not
//! exactly those the starting state fails for the same reasons), and a check that passes on
//! the solution must catch it. A check that
//! failed in no run at all (the starting state, the solution, every variant) catches nothing:
//! it is reported as a warning with its file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use super::grader::{CheckResult, Status, run_checks};
use super::report::{Case, Summary};
use super::session::{Session, Target, remove_dir};
use crate::console::ScriptStep;
use crate::pack::{Attempt, BackendKind, Exercise, Grader, Pack};

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

/// Why a line of a wrong variant makes the variant broken: a usage or parse error (exit 252,
/// a missing input file included), a console error (exit 255: an unknown profile, a missing
/// workspace file), a `Malformed…` refusal (a policy or document that does not parse), or a
/// line marked `!` that succeeded. `None` for a line that ran as written, refused or not.
pub fn broken_line(step: &ScriptStep) -> Option<String> {
    let o = &step.outcome;
    if step.expect_failure {
        return o
            .is_success()
            .then(|| "is marked `!` (expected to fail) and succeeded".to_string());
    }
    let malformed = o
        .error_code
        .as_deref()
        .is_some_and(|c| c.starts_with("Malformed"));
    if o.code == 252 || o.code == 255 || malformed {
        let why = o
            .stderr
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        return Some(format!("failed (exit {}): {why}", o.code));
    }
    None
}

/// The problems of a wrong variant's files: `.json` files that are not JSON and `.toml` files
/// that are not TOML (after `{{var}}` substitution), each with its line; `shown` names a file
/// of the variant for messages.
pub fn broken_files(
    session: &Session,
    attempt: &Attempt,
    shown: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, bytes) in &attempt.files {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        let text = session
            .substitute(text)
            .unwrap_or_else(|_| text.to_string());
        let problem = if name.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&text)
                .err()
                .map(|e| (e.line().max(1), format!("not valid JSON: {e}")))
        } else if name.ends_with(".toml") {
            toml::from_str::<toml::Table>(&text).err().map(|e| {
                let line = e
                    .span()
                    .map_or(1, |s| keylab_mask::toml_lines::line_of(&text, s.start));
                (line, format!("not valid TOML: {}", e.message()))
            })
        } else {
            None
        };
        if let Some((line, why)) = problem {
            out.push(format!(
                "{}:{line}: {why} (a malformed document is a broken variant: the checks fail for the syntax, not for the misconception)",
                shown(name)
            ));
        }
    }
    out
}

fn stages(exercise: &Exercise, pack: &Pack) -> usize {
    2 + pack.graders.get(&exercise.id).map_or(0, |g| g.wrong.len())
}

/// Which attempt a stage runs.
#[derive(Clone, Copy)]
enum Run<'a> {
    /// Nothing: the starting state.
    Start,
    /// The reference solution.
    Solution(&'a Attempt),
    /// A known-wrong variant, with its name.
    Wrong(&'a str, &'a Attempt),
}

/// What one stage saw: every check's result, the problems of the script it ran, and the
/// stage's variables (to tell what a check saw apart from the names it saw it under).
struct Seen {
    results: Vec<CheckResult>,
    problems: Vec<String>,
    vars: BTreeMap<String, String>,
}

impl Seen {
    /// The indexes of the checks that did not pass (failed or could not run).
    fn failed(&self) -> BTreeSet<usize> {
        (0..self.results.len())
            .filter(|&i| !self.results[i].status.is_ok())
            .collect()
    }

    /// The failures: each failed check with its message, the stage's names put back as
    /// `{{name}}`, so two stages that saw the same thing under their own names compare equal.
    fn failures(&self) -> BTreeSet<(usize, String)> {
        let mut names: Vec<(&String, &String)> =
            self.vars.iter().filter(|(_, v)| v.len() >= 4).collect();
        names.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        self.failed()
            .into_iter()
            .map(|i| {
                let mut message = self.results[i].message.clone();
                for (name, value) in &names {
                    message = message.replace(value.as_str(), &format!("{{{{{name}}}}}"));
                }
                (i, message)
            })
            .collect()
    }
}

/// What the stages of one exercise learnt so far, to judge the ones after.
#[derive(Default)]
struct Memory {
    start_failures: Option<BTreeSet<(usize, String)>>,
    solution_passed: Option<BTreeSet<usize>>,
    ever_failed: BTreeSet<usize>,
    ever_ran: BTreeSet<usize>,
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
        let mut runs: Vec<(String, Run)> = vec![
            ("starting state fails".into(), Run::Start),
            ("solution passes".into(), Run::Solution(&grader.solution)),
        ];
        for (name, attempt) in &grader.wrong {
            runs.push((
                format!("wrong variant '{name}' fails"),
                Run::Wrong(name, attempt),
            ));
        }
        let mut memory = Memory::default();
        for (i, (name, run)) in runs.into_iter().enumerate() {
            progress(Progress {
                done,
                total,
                label: format!("{} {name}", exercise.id),
            });
            let started = Instant::now();
            let dir = scratch.join(&exercise.id).join(i.to_string());
            let stage_seed = seed.wrapping_add(done as u64);
            let seen = run_stage(pack, exercise, &dir, stage_seed, target, run).await;
            let _ = remove_dir(&dir);
            let (status, message) = match seen {
                Ok(seen) => judge(pack, &exercise.id, run, &seen, &mut memory),
                Err(e) => (Status::Error, e),
            };
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
                test_code: match run {
                    Run::Start => "setup, then the checks must not all pass".into(),
                    Run::Solution(_) => "setup, the solution, then every check must pass".into(),
                    Run::Wrong(..) => "setup, the variant (run cleanly, changing something), then a check that passes on the solution must fail".into(),
                },
                duration_ms: started.elapsed().as_millis() as u64,
            });
            done += 1;
        }
        summary
            .warnings
            .extend(catches_nothing(pack, grader, &memory, &suite));
    }
    progress(Progress {
        done,
        total,
        label: "done".into(),
    });
    summary
}

/// A warning for each check that ran and failed in no stage: it cannot catch a mistake.
fn catches_nothing(pack: &Pack, grader: &Grader, memory: &Memory, suite: &str) -> Vec<String> {
    let file = pack.files.display(&grader.path);
    memory
        .ever_ran
        .difference(&memory.ever_failed)
        .filter_map(|&i| grader.checks.get(i))
        .map(|c| {
            format!(
                "{file}:{}: check \"{}\" failed in no run of {suite} (not the starting state, not one of the {} wrong variants): it catches nothing (fix: check what it tests — a typo'd action in an expect = \"deny\" row is always denied — or add the wrong variant it is there to catch)",
                c.line,
                c.title,
                grader.wrong.len()
            )
        })
        .collect()
}

/// The pack path of an attempt's script, for messages.
fn script_path(pack: &Pack, exercise: &str, run: Run) -> String {
    let base = match run {
        Run::Start => {
            return pack
                .files
                .display(&format!("exercises/{exercise}/exercise.toml"));
        }
        Run::Solution(_) => format!("graders/{exercise}/solution"),
        Run::Wrong(name, _) => format!("graders/{exercise}/wrong/{name}"),
    };
    match run {
        Run::Solution(a) | Run::Wrong(_, a) if !a.files.is_empty() => {
            pack.files.display(&format!("{base}/script"))
        }
        _ => pack.files.display(&base),
    }
}

/// The status and message of a stage from what it saw and what the stages before learnt.
fn judge(
    pack: &Pack,
    exercise: &str,
    run: Run,
    seen: &Seen,
    memory: &mut Memory,
) -> (Status, String) {
    let failed = seen.failed();
    for (i, r) in seen.results.iter().enumerate() {
        if r.status != Status::NotApplicable {
            memory.ever_ran.insert(i);
        }
    }
    memory.ever_failed.extend(failed.iter().copied());
    let titles = |set: &BTreeSet<usize>| -> String {
        set.iter()
            .map(|&i| {
                let r = &seen.results[i];
                format!("\"{}\": {}", r.title, r.message)
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Run::Solution(_) = run {
        memory.solution_passed = Some(
            (0..seen.results.len())
                .filter(|&i| seen.results[i].status == Status::Pass)
                .collect(),
        );
    }
    if let Run::Start = run {
        memory.start_failures = Some(seen.failures());
    }
    if !seen.problems.is_empty() {
        let what = match run {
            Run::Wrong(..) => {
                "broken variant: it does not run as written, so the checks fail for that and not for the misconception"
            }
            _ => "the solution does not run",
        };
        return (
            Status::Fail,
            format!(
                "{what}:\n{} (fix: correct the line, or mark it `!` when failing is the mistake)",
                seen.problems.join("\n")
            ),
        );
    }
    if let Some(r) = seen.results.iter().find(|r| r.status == Status::Error) {
        return (
            Status::Error,
            format!("check \"{}\" could not run: {}", r.title, r.message),
        );
    }
    match run {
        Run::Solution(_) if !failed.is_empty() => (
            Status::Fail,
            format!("the reference solution fails: {}", titles(&failed)),
        ),
        Run::Solution(_) => (Status::Pass, String::new()),
        Run::Start if failed.is_empty() => (
            Status::Fail,
            "the starting state already passes every check: the grader proves nothing".into(),
        ),
        Run::Start => (Status::Pass, format!("fails: {}", titles(&failed))),
        Run::Wrong(..) if failed.is_empty() => (
            Status::Fail,
            "this known-wrong variant passes every check: the grader misses the misconception"
                .into(),
        ),
        Run::Wrong(..) => judge_variant(pack, exercise, run, seen, memory, &titles),
    }
}

/// A wrong variant that ran cleanly and failed checks: it must change something and be caught
/// by a check that passes on the solution.
fn judge_variant(
    pack: &Pack,
    exercise: &str,
    run: Run,
    seen: &Seen,
    memory: &Memory,
    titles: &dyn Fn(&BTreeSet<usize>) -> String,
) -> (Status, String) {
    let path = script_path(pack, exercise, run);
    let failed = &seen.failed();
    if memory.start_failures.as_ref() == Some(&seen.failures()) {
        return (
            Status::Fail,
            format!(
                "{path}: the variant changes nothing the checks see: it fails exactly the checks the starting state fails, for the same reasons ({}) (fix: make sure it makes its mistake — a line that did nothing? — or add a check that tells its mistake from doing nothing)",
                titles(failed)
            ),
        );
    }
    let caught: BTreeSet<usize> = match &memory.solution_passed {
        Some(passed) => failed.intersection(passed).copied().collect(),
        None => failed.clone(),
    };
    if caught.is_empty() {
        return (
            Status::Fail,
            format!(
                "{path}: the variant is caught only by checks that fail on the reference solution too ({}) (fix: make the solution pass them, or add a check that passes on the solution and fails here)",
                titles(failed)
            ),
        );
    }
    (Status::Pass, format!("caught by: {}", titles(&caught)))
}

async fn run_stage(
    pack: &Pack,
    exercise: &Exercise,
    dir: &Path,
    seed: u64,
    target: &Target,
    run: Run<'_>,
) -> Result<Seen, String> {
    let _ = remove_dir(dir);
    let session = Session::open_on(pack, &exercise.id, dir, seed, target)
        .await
        .map_err(|e| e.to_string())?;
    let path = script_path(pack, &exercise.id, run);
    let mut problems = Vec::new();
    match run {
        Run::Start => {}
        Run::Solution(attempt) => {
            let outcome = match write_files(&session, attempt) {
                Ok(()) => run_script(&session, &attempt.script, true).await,
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                problems.push(match e.strip_prefix("line ") {
                    Some(rest) => format!("{path}:{rest}"),
                    None => format!("{path}: {e}"),
                });
            }
        }
        Run::Wrong(name, attempt) => {
            let base = format!("graders/{}/wrong/{name}", exercise.id);
            let shown = |file: &str| pack.files.display(&format!("{base}/{file}"));
            problems.extend(broken_files(&session, attempt, &shown));
            if let Err(e) = write_files(&session, attempt) {
                problems.push(format!("{}: {e}", pack.files.display(&base)));
            }
            match session.substitute(&attempt.script) {
                Ok(script) => {
                    for step in session.console().run_script(&script, true).await {
                        if let Some(why) = broken_line(&step) {
                            problems.push(format!(
                                "{path}:{}: `{}` {why}",
                                step.line_number, step.line
                            ));
                        }
                    }
                }
                Err(e) => problems.push(format!("{path}: {e}")),
            }
        }
    }
    let results = run_checks(&session).await;
    let vars = session.vars.clone();
    session.shutdown().await;
    Ok(Seen {
        results,
        problems,
        vars,
    })
}
