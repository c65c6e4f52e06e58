//! The backend worker: a thread that owns the tokio runtime and the open exercise's
//! [`Session`] (engine, console, grader). A front end sends it [`Job`]s and receives
//! [`WorkerEvent`]s back, so the UI never blocks on the network and tokio never leaks into it.
//! Sessions are opened and reset through [`crate::lab::course`], as every front end does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use chrono::{DateTime, Utc};

use crate::console::Outcome;
use crate::lab::check::CheckResult;
use crate::lab::course;
use crate::lab::grader::{Evidence, evidence, run_checks};
use crate::lab::progress::DataDir;
use crate::lab::session::{Session, Target, reset_folder};
use crate::pack::Pack;

/// Work for the backend.
#[derive(Debug)]
pub enum Job {
    /// Open an exercise (closing any other).
    Open(String),
    /// Run a console command in the open exercise.
    Run(String),
    /// Append a typed command to the open exercise's console history.
    Remember(String),
    /// Run the checks.
    Check,
    /// Reset the open exercise.
    Reset,
    /// Stop the open exercise's backend.
    Close,
    /// The environment for the learner's shell or editor, answered on the channel.
    Environment(Sender<Option<ShellEnv>>),
    /// Stop the worker.
    Stop,
}

/// An exercise whose backend is ready.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The exercise.
    pub id: String,
    /// The instructions with names filled in.
    pub instructions: String,
    /// The explanation with names filled in.
    pub explanation: String,
    /// The variables.
    pub vars: BTreeMap<String, String>,
    /// `engine https://…`, and what the backend lacks.
    pub backend: String,
    /// The workspace's files.
    pub files: Vec<String>,
    /// Commands typed in earlier sessions, oldest first.
    pub history: Vec<String>,
}

/// What a started backend yields: the target, and what must live as long as it.
pub type Started = Result<(Target, Box<dyn std::any::Any + Send>), String>;

/// A backend that is still starting when the app opens (LocalStack in Docker).
pub struct Starting {
    /// What starts, for the status bar: `LocalStack (keylab/localstack:4.9.2) in Docker`.
    pub what: String,
    /// The start, run on the worker's runtime: the target, and what must live as long as it
    /// (the container's guard, which removes it when the worker ends).
    pub start: std::pin::Pin<Box<dyn std::future::Future<Output = Started> + Send>>,
}

impl std::fmt::Debug for Starting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Starting({})", self.what)
    }
}

/// Where the worker's sessions run: a target ready now, or one it starts first.
#[derive(Debug)]
pub enum TargetSource {
    /// Connected already.
    Ready(Target),
    /// Started by the worker before it takes any job; exercises opened meanwhile wait.
    Starting(Starting),
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// The backend is starting (LocalStack in Docker): what starts.
    BackendStarting(String),
    /// The backend started: where it runs (`LocalStack in container 0123456789ab (…)`).
    BackendReady(String),
    /// The backend could not start: why, and how to fix it.
    BackendFailed(String),
    /// The exercise's backend is ready.
    ExerciseReady(Ready),
    /// The exercise could not be opened or reset.
    ExerciseFailed(String),
    /// A console command finished.
    CommandDone {
        /// What it did.
        outcome: Outcome,
        /// The workspace's files after it.
        files: Vec<String>,
    },
    /// The checks finished.
    CheckDone {
        /// Each check's result.
        results: Vec<CheckResult>,
        /// When they finished.
        at: DateTime<Utc>,
        /// What they looked at.
        evidence: Evidence,
    },
}

/// What a shell or editor needs.
#[derive(Debug, Clone)]
pub struct ShellEnv {
    /// The workspace.
    pub workspace: std::path::PathBuf,
    /// The exercise's folder.
    pub lab: std::path::PathBuf,
    /// The identity the shell acts as.
    pub profile: String,
    /// Every lab identity (each a profile of the shell's AWS config).
    pub profiles: Vec<String>,
    /// The variables to set.
    pub vars: Vec<(String, String)>,
}

/// A running worker.
pub struct Worker {
    jobs: Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker; its events arrive on `events`.
    pub fn start(
        pack: Arc<Pack>,
        data: DataDir,
        seed: u64,
        target: TargetSource,
        events: Sender<WorkerEvent>,
    ) -> Worker {
        let (jobs, rx) = channel();
        let thread = std::thread::spawn(move || run(pack, data, seed, target, rx, events));
        Worker {
            jobs,
            thread: Some(thread),
        }
    }

    /// Sends a job.
    pub fn send(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    /// The open exercise's environment, waiting for the worker.
    pub fn environment(&self) -> Option<ShellEnv> {
        let (tx, rx) = channel();
        self.send(Job::Environment(tx));
        rx.recv().ok().flatten()
    }

    /// Stops the worker and its backend.
    pub fn stop(mut self) {
        self.send(Job::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn files(session: &Session) -> Vec<String> {
    crate::confine::files(&session.workspace)
}

fn backend_label(session: &Session) -> String {
    let b = &session.backend;
    let place = match &b.container {
        Some(container) => format!("{} {}, {container}", b.name, b.https_endpoint),
        None => format!("{} {}", b.name, b.https_endpoint),
    };
    let missing = b.capabilities.missing();
    if missing.is_empty() {
        return place;
    }
    let names: Vec<&str> = missing.iter().map(|c| c.name()).collect();
    format!("{place} (lacks {})", names.join(", "))
}

fn ready(session: &Session) -> WorkerEvent {
    let filled = |text: &String| session.substitute(text).unwrap_or_else(|_| text.clone());
    WorkerEvent::ExerciseReady(Ready {
        id: session.exercise.id.clone(),
        instructions: filled(&session.exercise.readme),
        explanation: filled(&session.exercise.spec.explanation),
        vars: session.vars.clone(),
        backend: backend_label(session),
        files: files(session),
        history: history(session.root()),
    })
}

/// The console history of an exercise's folder.
const HISTORY_FILE: &str = "console-history";
/// The most commands kept.
const HISTORY_LIMIT: usize = 500;

/// The commands typed in an exercise in earlier sessions, oldest first.
fn history(lab: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(lab.join(HISTORY_FILE))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Appends a command to the history (the last [`HISTORY_LIMIT`] kept), written atomically.
fn remember(lab: &std::path::Path, line: &str) {
    let mut lines = history(lab);
    if lines.last().map(String::as_str) == Some(line) {
        return;
    }
    lines.push(line.replace('\n', " "));
    let keep = lines.len().saturating_sub(HISTORY_LIMIT);
    let text = lines[keep..].join("\n") + "\n";
    let _ = keylab_engine::fsutil::write_atomic(&lab.join(HISTORY_FILE), text.as_bytes());
}

/// The target, started first when it must be, with what must outlive it.
fn start_target(
    rt: &tokio::runtime::Runtime,
    source: TargetSource,
    events: &Sender<WorkerEvent>,
) -> (
    Result<Target, String>,
    Option<Box<dyn std::any::Any + Send>>,
) {
    let starting = match source {
        TargetSource::Ready(target) => return (Ok(target), None),
        TargetSource::Starting(starting) => starting,
    };
    let _ = events.send(WorkerEvent::BackendStarting(starting.what.clone()));
    match rt.block_on(starting.start) {
        Ok((target, keep)) => {
            let place = match &target {
                Target::Shared(b) => b.container.clone().unwrap_or_else(|| b.name.clone()),
                Target::Engine => "the built-in engine".to_string(),
            };
            let _ = events.send(WorkerEvent::BackendReady(place));
            (Ok(target), Some(keep))
        }
        Err(e) => {
            let _ = events.send(WorkerEvent::BackendFailed(e.clone()));
            (Err(e), None)
        }
    }
}

fn run(
    pack: Arc<Pack>,
    data: DataDir,
    seed: u64,
    source: TargetSource,
    jobs: Receiver<Job>,
    events: Sender<WorkerEvent>,
) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = events.send(WorkerEvent::ExerciseFailed(format!(
                "cannot start the async runtime: {e}"
            )));
            return;
        }
    };
    let report = |opened: Result<Session, _>| -> Option<Session> {
        match opened {
            Ok(s) => {
                let _ = events.send(ready(&s));
                Some(s)
            }
            Err(e) => {
                let _ = events.send(WorkerEvent::ExerciseFailed(format!("{e}")));
                None
            }
        }
    };
    // Declared before the session, so it is dropped after it: the container outlives the
    // session that uses it.
    let (target, _keep) = start_target(&rt, source, &events);
    let mut session: Option<Session> = None;
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Open(id) => {
                if let Some(s) = session.take() {
                    rt.block_on(s.shutdown());
                }
                let target = match &target {
                    Ok(target) => target,
                    Err(e) => {
                        let _ = events.send(WorkerEvent::ExerciseFailed(e.clone()));
                        continue;
                    }
                };
                session = report(rt.block_on(course::open(&pack, &data, seed, target, &id)));
            }
            Job::Run(line) => {
                let Some(s) = &session else { continue };
                let outcome = rt.block_on(s.console().run(&line));
                let _ = events.send(WorkerEvent::CommandDone {
                    outcome,
                    files: files(s),
                });
            }
            Job::Remember(line) => {
                let Some(s) = &session else { continue };
                remember(s.root(), &line);
            }
            Job::Check => {
                let Some(s) = &session else { continue };
                let results = rt.block_on(run_checks(s));
                let _ = events.send(WorkerEvent::CheckDone {
                    results,
                    at: Utc::now(),
                    evidence: evidence(s),
                });
            }
            Job::Reset => {
                let Some(s) = session.take() else { continue };
                let Ok(target) = &target else { continue };
                let id = s.exercise.id.clone();
                rt.block_on(s.shutdown());
                if let Err(e) = reset_folder(&course::lab_folder(&data, &id, target), target) {
                    let _ = events.send(WorkerEvent::ExerciseFailed(e.to_string()));
                    continue;
                }
                session = report(rt.block_on(course::open(&pack, &data, seed, target, &id)));
            }
            Job::Close => {
                if let Some(s) = session.take() {
                    rt.block_on(s.shutdown());
                }
            }
            Job::Environment(reply) => {
                let env = session.as_ref().and_then(|s| {
                    let b = &s.backend;
                    let vars = course::shell_env(
                        b,
                        &s.exercise.spec.profile,
                        &b.http_endpoint,
                        &b.https_endpoint,
                        Some(s.root()),
                    )
                    .ok()?;
                    Some(ShellEnv {
                        workspace: s.workspace.clone(),
                        lab: s.root().to_path_buf(),
                        profile: s.exercise.spec.profile.clone(),
                        profiles: b
                            .profiles
                            .iter()
                            .map(|p| p.profile.clone())
                            .chain(b.engine.iter().flat_map(|e| {
                                e.identities()
                                    .role_profiles()
                                    .iter()
                                    .map(|r| format!("{} (assumes {})", r.name, r.role_arn))
                                    .collect::<Vec<_>>()
                            }))
                            .collect(),
                        vars,
                    })
                });
                let _ = reply.send(env);
            }
            Job::Stop => break,
        }
    }
    if let Some(s) = session.take() {
        rt.block_on(s.shutdown());
    }
}
