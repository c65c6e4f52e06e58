//! The backend worker: a thread that owns the tokio runtime and the open exercise's
//! [`Session`] (engine, console, grader). The UI thread sends it [`Job`]s and receives
//! [`Msg`]s back, so the UI never blocks on the network and tokio never leaks into it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use super::app::Msg;
use crate::lab::grader::{evidence, run_checks};
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

/// What a shell or editor needs.
#[derive(Debug, Clone)]
pub struct ShellEnv {
    /// The workspace.
    pub workspace: PathBuf,
    /// The variables to set.
    pub vars: Vec<(String, String)>,
}

/// A running worker.
pub struct Worker {
    jobs: Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker; its messages arrive on `msgs`.
    pub fn start(
        pack: Arc<Pack>,
        data: DataDir,
        seed: u64,
        target: Target,
        msgs: Sender<Msg>,
    ) -> Worker {
        let (jobs, rx) = channel();
        let thread = std::thread::spawn(move || run(pack, data, seed, target, rx, msgs));
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

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn files(session: &Session) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&session.workspace) {
        for e in entries.flatten() {
            if e.path().is_file() {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

fn backend_label(session: &Session) -> String {
    let b = &session.backend;
    let missing = b.capabilities.missing();
    if missing.is_empty() {
        format!("{} {}", b.name, b.https_endpoint)
    } else {
        format!(
            "{} {} (lacks {})",
            b.name,
            b.https_endpoint,
            missing
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn ready(session: &Session) -> Msg {
    Msg::ExerciseReady {
        id: session.exercise.id.clone(),
        instructions: session
            .substitute(&session.exercise.readme)
            .unwrap_or_else(|_| session.exercise.readme.clone()),
        explanation: session
            .substitute(&session.exercise.spec.explanation)
            .unwrap_or_else(|_| session.exercise.spec.explanation.clone()),
        vars: session.vars.clone(),
        backend: backend_label(session),
        files: files(session),
    }
}

fn run(
    pack: Arc<Pack>,
    data: DataDir,
    seed: u64,
    target: Target,
    jobs: Receiver<Job>,
    msgs: Sender<Msg>,
) {
    let backend_name = match &target {
        Target::Engine => "engine".to_string(),
        Target::Shared(b) => b.name.clone(),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = msgs.send(Msg::ExerciseFailed(format!(
                "cannot start the async runtime: {e}"
            )));
            return;
        }
    };
    // Opens an exercise's session and tells the app it is ready, or why it is not.
    let open = |id: &str, root: &std::path::Path| -> Option<Session> {
        match rt.block_on(Session::open_on(&pack, id, root, seed, &target)) {
            Ok(s) => {
                let _ = msgs.send(ready(&s));
                Some(s)
            }
            Err(e) => {
                let _ = msgs.send(Msg::ExerciseFailed(e.to_string()));
                None
            }
        }
    };
    let mut session: Option<Session> = None;
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Open(id) => {
                if let Some(s) = session.take() {
                    rt.block_on(s.shutdown());
                }
                let root = data.lab_on(&id, &backend_name);
                session = open(&id, &root);
            }
            Job::Run(line) => {
                let Some(s) = &session else { continue };
                let outcome = rt.block_on(s.console().run(&line));
                let _ = msgs.send(Msg::CommandDone(outcome, files(s)));
            }
            Job::Check => {
                let Some(s) = &session else { continue };
                let results = rt.block_on(run_checks(s));
                let _ = msgs.send(Msg::CheckDone(results, now(), evidence(s)));
            }
            Job::Reset => {
                let Some(s) = session.take() else { continue };
                let id = s.exercise.id.clone();
                rt.block_on(s.shutdown());
                let root = data.lab_on(&id, &backend_name);
                if let Err(e) = reset_folder(&root, &target) {
                    let _ = msgs.send(Msg::ExerciseFailed(e.to_string()));
                    continue;
                }
                session = open(&id, &root);
            }
            Job::Close => {
                if let Some(s) = session.take() {
                    rt.block_on(s.shutdown());
                }
            }
            Job::Environment(reply) => {
                let env = session.as_ref().map(|s| {
                    let profile = s.exercise.spec.profile.clone();
                    let mut vars = Vec::new();
                    if let Ok(p) = s.backend.profile(&profile) {
                        vars.push(("AWS_ACCESS_KEY_ID".to_string(), p.access_key_id.clone()));
                        vars.push((
                            "AWS_SECRET_ACCESS_KEY".to_string(),
                            p.secret_access_key.to_string(),
                        ));
                    }
                    vars.push((
                        "AWS_ENDPOINT_URL".to_string(),
                        s.backend.https_endpoint.clone(),
                    ));
                    vars.push(("AWS_DEFAULT_REGION".to_string(), s.backend.region.clone()));
                    vars.push((
                        "KEYLAB_HTTP_ENDPOINT".to_string(),
                        s.backend.http_endpoint.clone(),
                    ));
                    if let Some(ca) = &s.backend.ca_path {
                        vars.push(("AWS_CA_BUNDLE".to_string(), ca.display().to_string()));
                    }
                    ShellEnv {
                        workspace: s.workspace.clone(),
                        vars,
                    }
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
