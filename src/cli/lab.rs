//! The exercise commands: `list`, `coverage`, `check`, `hint`, `reset`, `run`, `env`, `shell`
//! and `verify`, and the options every lab command takes ([`LabArgs`]: pack, data directory,
//! backend, workshop). Each opens the pack and the learner's data, calls
//! [`keylab::lab::course`] (or `verify`) and prints.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use serde_json::json;

use keylab::backend::Backend;
use keylab::front::worker::{Starting, TargetSource};
use keylab::lab::course;
use keylab::lab::progress::{DataDir, Progress};
use keylab::lab::report::{self, Case, ReportFormat, Summary};
use keylab::lab::session::{Session, Target};
use keylab::pack::{BackendKind, Pack};

use super::runtime;

/// Options every exercise command takes.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// A content pack folder to use instead of the built-in one
    #[arg(long, global = true, value_name = "DIR")]
    pub pack: Option<PathBuf>,
    /// Where progress and exercise folders live [default: the user's data directory]
    #[arg(long, global = true, value_name = "DIR", env = "KEYLAB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The backend exercises run on
    #[arg(long, global = true, value_enum, default_value = "engine")]
    pub backend: BackendName,
    /// An AWS-compatible endpoint to use as the backend (LocalStack's, or another)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A classroom workshop's id, as the instructor gave it: your progress, names and signing
    /// key for it are kept apart, and `keylab submit` hands in its results
    #[arg(long, global = true, value_name = "ID", env = "KEYLAB_WORKSHOP")]
    pub workshop: Option<String>,
    /// Run a pack other than the built-in one without asking (for CI; a pack is code: read it
    /// first)
    #[arg(long, global = true)]
    pub trust: bool,
}

/// A backend to run exercises on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendName {
    /// The built-in engine (one per exercise, in process).
    Engine,
    /// LocalStack at --endpoint or KEYLAB_LOCALSTACK_ENDPOINT, else in Docker
    /// (KEYLAB_LOCALSTACK_IMAGE; `keylab localstack up` keeps one running).
    Localstack,
    /// Both, one after the other (for verify).
    All,
}

/// A backend to run on, and the LocalStack container started for it, if one was: the
/// container is removed when this is dropped.
pub struct Connected {
    /// Where sessions run.
    pub target: Target,
    #[cfg(feature = "docker")]
    _container: Option<keylab::backend::localstack::Container>,
}

/// The LocalStack endpoint given: `--endpoint` or `KEYLAB_LOCALSTACK_ENDPOINT`.
fn localstack_endpoint(explicit: Option<&str>) -> Option<String> {
    explicit
        .map(str::to_string)
        .or_else(|| std::env::var("KEYLAB_LOCALSTACK_ENDPOINT").ok())
        .filter(|e| !e.is_empty())
}

/// The LocalStack endpoint: `--endpoint`, `KEYLAB_LOCALSTACK_ENDPOINT`, or a container in
/// Docker (with a spinner while it starts); otherwise a message that says how to get one.
async fn localstack(explicit: Option<&str>) -> Result<Connected> {
    if let Some(endpoint) = localstack_endpoint(explicit) {
        return Ok(Connected {
            target: Target::Shared(Box::new(connect("localstack", &endpoint).await?)),
            #[cfg(feature = "docker")]
            _container: None,
        });
    }
    #[cfg(feature = "docker")]
    {
        let image = keylab::backend::localstack::ImageRef::from_env().map_err(|e| anyhow!(e))?;
        let spinner = indicatif::ProgressBar::new_spinner().with_message(format!(
            "starting LocalStack ({image}) in Docker: `keylab localstack up` keeps one running for later commands"
        ));
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        let connected = localstack_in_docker().await;
        spinner.finish_and_clear();
        let connected = connected?;
        if let Target::Shared(b) = &connected.target {
            eprintln!(
                "keylab: {} answers at {}",
                b.container.as_deref().unwrap_or("LocalStack"),
                b.http_endpoint
            );
        }
        Ok(connected)
    }
    #[cfg(not(feature = "docker"))]
    bail!(
        "--backend localstack: this keylab was built without the docker feature; start LocalStack with `scripts/localstack-host start` and set KEYLAB_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 (or pass --endpoint URL)"
    )
}

/// LocalStack in Docker: the shared container of `keylab localstack up`, or one of this
/// process's own (removed on exit, on SIGINT, SIGTERM and SIGHUP, and on panic).
#[cfg(feature = "docker")]
async fn localstack_in_docker() -> Result<Connected> {
    use keylab::backend::localstack;
    if !localstack::docker_available() {
        bail!("--backend localstack: {}", localstack::NO_DOCKER);
    }
    localstack::remove_on_signals(&tokio::runtime::Handle::current());
    let container = localstack::start()
        .await
        .map_err(|e| anyhow!("--backend localstack: {e}"))?;
    let running = container.running().clone();
    let mut backend = connect("localstack", &running.endpoint).await?;
    backend.container = Some(running.describe());
    Ok(Connected {
        target: Target::Shared(Box::new(backend)),
        _container: Some(container),
    })
}

/// Connects to a shared backend and probes what it enforces.
async fn connect(name: &str, endpoint: &str) -> Result<Backend> {
    let mut backend =
        Backend::endpoint(name, endpoint, keylab_engine::DEFAULT_REGION).map_err(|e| anyhow!(e))?;
    let health = backend
        .settings("owner-admin", false)
        .map_err(|e| anyhow!(e))?;
    let kms = keylab::backend::sdk::kms_client(&health).map_err(|e| anyhow!(e.to_string()))?;
    if let Err(e) = kms.list_keys().limit(1).send().await {
        bail!(
            "cannot reach {name} at {endpoint}: {} (is it running? `scripts/localstack-host start` starts LocalStack without Docker)",
            aws_sdk_kms::error::DisplayErrorContext(&e)
        );
    }
    keylab::backend::probe(&mut backend).await;
    Ok(backend)
}

impl LabArgs {
    /// The backend chosen by `--backend` / `--endpoint`, connected and probed.
    pub async fn connect(&self) -> Result<Connected> {
        match (self.backend, &self.endpoint) {
            (BackendName::Engine, None) => Ok(Connected {
                target: Target::Engine,
                #[cfg(feature = "docker")]
                _container: None,
            }),
            (BackendName::Engine, Some(endpoint)) => Ok(Connected {
                target: Target::Shared(Box::new(connect("endpoint", endpoint).await?)),
                #[cfg(feature = "docker")]
                _container: None,
            }),
            (BackendName::Localstack, explicit) => localstack(explicit.as_deref()).await,
            (BackendName::All, _) => {
                bail!("--backend all is for `keylab verify`; choose engine or localstack")
            }
        }
    }

    /// The backend for the terminal app: connected now, or, for LocalStack in Docker, started
    /// by the app's worker while the app already runs (its status bar shows the progress).
    pub fn target_source(&self) -> Result<TargetSource> {
        #[cfg(feature = "docker")]
        if self.backend == BackendName::Localstack
            && localstack_endpoint(self.endpoint.as_deref()).is_none()
        {
            let image =
                keylab::backend::localstack::ImageRef::from_env().map_err(|e| anyhow!(e))?;
            return Ok(TargetSource::Starting(Starting {
                what: format!("LocalStack ({image}) in Docker"),
                start: Box::pin(async {
                    let connected = localstack_in_docker().await.map_err(|e| format!("{e:#}"))?;
                    let keep: Box<dyn std::any::Any + Send> = Box::new(connected._container);
                    Ok((connected.target, keep))
                }),
            }));
        }
        let connected = super::runtime()?.block_on(self.connect())?;
        Ok(TargetSource::Ready(connected.target))
    }

    /// The pack, the data directory and the learner's progress, as every exercise command
    /// needs them.
    pub fn learner(&self) -> Result<(Pack, DataDir, Progress)> {
        let data = self.data()?;
        let progress = Progress::load(&data.progress_file()).map_err(|e| anyhow!(e))?;
        Ok((self.pack_to_run(&data)?, data, progress))
    }

    /// The pack: `--pack DIR` or the built-in one, to read (list, lint, coverage).
    pub fn pack(&self) -> Result<Pack> {
        Pack::open(self.pack.as_deref()).map_err(|e| anyhow!("{e}"))
    }

    /// The pack, to run its exercises: one other than the built-in pack must be trusted first
    /// ([`keylab::pack::trust`]): remembered from an earlier answer, `--trust`, or asked now
    /// in a terminal.
    pub fn pack_to_run(&self, data: &DataDir) -> Result<Pack> {
        use keylab::pack::trust::{TrustStore, describe, is_builtin};
        let pack = self.pack()?;
        if is_builtin(&pack) || self.trust {
            return Ok(pack);
        }
        let mut store = TrustStore::load(&data.0);
        if store.contains(&pack.hash()) {
            return Ok(pack);
        }
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin())
            && std::io::IsTerminal::is_terminal(&std::io::stderr());
        if !interactive {
            bail!(
                "{}\nkeylab asks once before running a pack that is not the built-in one. Read it, then run keylab in a terminal to answer, or pass --trust (for CI).",
                describe(&pack)
            );
        }
        eprint!("{}\nTrust this pack and run it? [y/N] ", describe(&pack));
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            bail!("the pack was not trusted; nothing was run");
        }
        store.remember(&pack).with_context(|| {
            format!(
                "cannot write {}",
                data.0.join(keylab::pack::trust::FILE).display()
            )
        })?;
        Ok(pack)
    }

    /// The data directory: `--data-dir`, `KEYLAB_DATA_DIR` or the user's data directory; in a
    /// workshop, its `workshops/<ID>` folder.
    pub fn data(&self) -> Result<DataDir> {
        let base = match &self.data_dir {
            Some(d) => DataDir(d.clone()),
            None => DataDir::default_location().map_err(|e| anyhow!(e))?,
        };
        match &self.workshop {
            Some(id) => {
                let id = keylab::workshop::check_workshop_id(id).map_err(|e| anyhow!(e))?;
                Ok(DataDir(base.0.join("workshops").join(id)))
            }
            None => Ok(base),
        }
    }
}

/// `keylab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The exercise id (see `keylab list`)
    pub exercise: String,
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
}

/// `keylab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The exercise id
    pub exercise: String,
    /// Run the commands of this file, one per line, stopping at the first failure
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// The lab identity to act as [default: the exercise's]
    #[arg(long)]
    pub profile: Option<String>,
    /// The console command, after `--` (e.g. `-- aws kms list-keys`); `{{var}}` placeholders
    /// of the exercise are filled in
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// `keylab env` and `keylab shell`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The exercise id
    pub exercise: String,
    /// The lab identity [default: the exercise's]
    #[arg(long)]
    pub profile: Option<String>,
}

/// `keylab verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// The seed names and data are derived from
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write a JUnit XML report to this file (for CI test views)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Fail on warnings too (a check that failed in no run catches nothing)
    #[arg(long)]
    pub strict: bool,
}

/// Opens `exercise` on the chosen backend; the [`Connected`] must outlive the session.
async fn open(
    lab: &LabArgs,
    pack: &Pack,
    data: &DataDir,
    seed: u64,
    exercise: &str,
) -> Result<(Connected, Session)> {
    let connected = lab.connect().await?;
    let session = course::open(pack, data, seed, &connected.target, exercise).await?;
    Ok((connected, session))
}

/// `keylab coverage [--json]`.
pub fn coverage(lab: &LabArgs, as_json: bool) -> Result<ExitCode> {
    let pack = lab.pack()?;
    let rows = keylab::pack::coverage::rows(&pack);
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        out!("{}", keylab::pack::coverage::to_markdown(&pack, &rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// `keylab list [--json]`.
pub fn list(lab: &LabArgs, as_json: bool) -> Result<ExitCode> {
    let pack = lab.pack()?;
    if as_json {
        let lessons: Vec<_> = pack
            .lessons
            .iter()
            .map(|l| json!({"id": l.id, "title": l.title, "order": l.order, "dea_items": l.dea_items, "exercises": l.exercises}))
            .collect();
        let exercises: Vec<_> = pack
            .exercises
            .iter()
            .map(|x| {
                json!({
                    "id": x.id,
                    "title": x.spec.title,
                    "lesson": x.spec.lesson,
                    "difficulty": x.spec.difficulty,
                    "backends": x.spec.backends,
                    "dea_items": x.spec.dea_items,
                    "checks": pack.graders.get(&x.id).map_or(0, |g| g.checks.len()),
                })
            })
            .collect();
        let out = json!({
            "pack": {"name": pack.manifest.name, "title": pack.manifest.title, "format_version": pack.manifest.format_version},
            "lessons": lessons,
            "exercises": exercises,
            "questions": pack.questions.iter().map(|q| json!({"id": q.id, "lesson": q.lesson, "item": q.item, "choose": q.choose})).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}", pack.manifest.title);
    for lesson in &pack.lessons {
        outln!("\n{}. {}", lesson.order, lesson.title);
        for id in &lesson.exercises {
            if let Some(x) = pack.exercise(id) {
                outln!("   {:<28} {}", x.id, x.spec.title);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keylab check`.
pub fn check(lab: &LabArgs, args: &CheckArgs) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    let exercise = pack.try_exercise(&args.exercise).map_err(|e| anyhow!(e))?;
    let (results, evidence, seed, backend, explanation) = runtime()?.block_on(async {
        let (_connected, session) = open(lab, &pack, &data, progress.seed, &exercise.id).await?;
        let results = keylab::lab::grader::run_checks(&session).await;
        let evidence = keylab::lab::grader::evidence(&session);
        let explanation = session
            .substitute(&exercise.spec.explanation)
            .unwrap_or_else(|_| exercise.spec.explanation.clone());
        let found = (
            results,
            evidence,
            session.seed,
            session.backend.name.clone(),
            explanation,
        );
        session.shutdown().await;
        anyhow::Ok(found)
    })?;
    let graded = course::record_check(
        &mut progress,
        exercise,
        results,
        evidence,
        chrono::Utc::now(),
    );
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    let mut summary = Summary::default();
    for r in &graded.results {
        summary.cases.push(Case {
            suite: exercise.id.clone(),
            name: r.title.clone(),
            status: r.status,
            message: r.message.clone(),
            output: r.trace.clone(),
            task: r.task,
            test_code: r.kind.to_string(),
            duration_ms: r.duration_ms,
        });
    }
    let extra = [
        ("exercise", json!(exercise.id)),
        ("seed", json!(seed)),
        ("backend", json!(backend)),
        ("hints_used", json!(graded.hints_used)),
        ("dea_items", json!(exercise.spec.dea_items)),
    ];
    for (k, v) in extra {
        summary.extra.insert(k.into(), v);
    }
    if let Some(r) = graded.review {
        summary
            .extra
            .insert("review".into(), json!(keylab::study::srs::rating_name(r)));
    }
    out!("{}", report::render(&summary, args.format, "keylab check"));
    if args.format == ReportFormat::Text {
        if graded.is_pass() {
            outln!("\n{}", explanation.trim());
        } else if graded.more_hints {
            outln!(
                "\nStuck? `keylab hint {}` shows the next hint.",
                exercise.id
            );
        }
    }
    std::io::stdout().flush()?;
    Ok(if graded.is_pass() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `keylab hint`.
pub fn hint(lab: &LabArgs, exercise: &str) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    let x = pack.try_exercise(exercise).map_err(|e| anyhow!(e))?;
    let hints = course::next_hint(&mut progress, x, chrono::Utc::now());
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    // The names this learner's setup made (`{{bucket}}`, `{{key_id}}`), from the most recent
    // setup of the exercise on any backend; placeholders stay as written before a setup.
    let vars = ["engine", "localstack", "endpoint"]
        .iter()
        .map(|backend| data.lab_on(exercise, backend))
        .filter_map(|root| {
            let when = std::fs::metadata(root.join("setup.json"))
                .and_then(|m| m.modified())
                .ok()?;
            Some((when, keylab::lab::session::saved_vars(&root)?))
        })
        .max_by_key(|(when, _)| *when)
        .map(|(_, vars)| vars)
        .unwrap_or_default();
    for h in &hints {
        let text = keylab::lab::vars::fill_known(&h.text, &vars);
        outln!("Hint {} of {}: {text}", h.number, h.total);
    }
    if hints.last().is_some_and(|h| h.number == h.total) {
        outln!("(that was the last hint)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `keylab reset`.
pub fn reset(lab: &LabArgs, exercise: &str) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    pack.try_exercise(exercise).map_err(|e| anyhow!(e))?;
    let now = chrono::Utc::now();
    runtime()?.block_on(async {
        let connected = lab.connect().await?;
        let session = course::reset(
            &pack,
            &data,
            &mut progress,
            &connected.target,
            exercise,
            now,
        )
        .await?;
        outln!(
            "{exercise}: workspace and backend state are back to the setup ({})",
            session.workspace.display()
        );
        session.shutdown().await;
        anyhow::Ok(())
    })?;
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}

/// `keylab run`.
pub fn run(lab: &LabArgs, args: &RunArgs) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    pack.try_exercise(&args.exercise).map_err(|e| anyhow!(e))?;
    progress.record_open(&args.exercise, chrono::Utc::now());
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    let script = match (&args.script, args.command.is_empty()) {
        (Some(path), true) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the script {}", path.display()))?,
        (None, false) => shell_words::join(&args.command),
        (Some(_), false) => bail!("give either --script FILE or a command after --, not both"),
        (None, true) => bail!(
            "give a command after -- (e.g. keylab run {} -- aws kms list-keys) or --script FILE",
            args.exercise
        ),
    };
    let code = runtime()?.block_on(async {
        let (_connected, session) = open(lab, &pack, &data, progress.seed, &args.exercise).await?;
        let profile = args
            .profile
            .clone()
            .unwrap_or_else(|| session.exercise.spec.profile.clone());
        let console = session.console_as(&profile);
        let script = session.substitute(&script).map_err(|e| anyhow!(e))?;
        let mut code = 0;
        let mut stdout = std::io::stdout().lock();
        for step in console.run_script(&script, false).await {
            if args.script.is_some() {
                eprintln!(
                    "$ {}{}",
                    if step.expect_failure { "! " } else { "" },
                    step.line
                );
            }
            stdout.write_all(step.outcome.stdout.as_bytes())?;
            eprint!("{}", step.outcome.stderr);
            code = if step.as_expected {
                0
            } else {
                step.outcome.code.max(1)
            };
        }
        stdout.flush()?;
        session.shutdown().await;
        anyhow::Ok(code)
    })?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// `keylab env`: the export lines for the exercise's backend served on the default ports.
pub fn env(lab: &LabArgs, args: &EnvArgs) -> Result<ExitCode> {
    let (pack, data, progress) = lab.learner()?;
    runtime()?.block_on(async {
        let (_connected, session) = open(lab, &pack, &data, progress.seed, &args.exercise).await?;
        let profile = args.profile.clone().unwrap_or_else(|| session.exercise.spec.profile.clone());
        let backend = &session.backend;
        let (http, https) = match backend.engine {
            Some(_) => {
                outln!(
                    "# Start the exercise's backend in another terminal:\n#   keylab engine serve --state-dir {}\n# then, in your shell: eval \"$(keylab env {} --profile {profile})\"",
                    data.lab(&args.exercise).join("engine").display(),
                    args.exercise
                );
                ("http://127.0.0.1:4510".to_string(), "https://127.0.0.1:4511".to_string())
            }
            None => (backend.http_endpoint.clone(), backend.https_endpoint.clone()),
        };
        let vars = course::shell_env(backend, &profile, &http, &https, Some(session.root()))
            .map_err(|e| anyhow!(e))?;
        for (k, v) in vars {
            outln!("export {k}={}", shell_words::quote(&v));
        }
        session.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `keylab shell`: the learner's `$SHELL` in the workspace, with the backend running.
pub fn shell(lab: &LabArgs, args: &EnvArgs) -> Result<ExitCode> {
    let (pack, data, progress) = lab.learner()?;
    let status = runtime()?.block_on(async {
        let (_connected, session) = open(lab, &pack, &data, progress.seed, &args.exercise).await?;
        let profile = args.profile.clone().unwrap_or_else(|| session.exercise.spec.profile.clone());
        let backend = &session.backend;
        let vars = course::shell_env(
            backend,
            &profile,
            &backend.http_endpoint,
            &backend.https_endpoint,
            Some(session.root()),
        )
        .map_err(|e| anyhow!(e))?;
        let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
        eprintln!(
            "keylab: {shell} in {} as {profile}; the backend runs until you exit. `keylab check {}` grades it.",
            session.workspace.display(),
            args.exercise
        );
        let workspace = session.workspace.clone();
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new(&shell)
                .current_dir(workspace)
                .envs(vars)
                .status()
        })
        .await
        .context("the shell task failed")?
        .context("cannot start the shell")?;
        session.shutdown().await;
        anyhow::Ok(status)
    })?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// `keylab verify`.
pub fn verify(lab: &LabArgs, args: &VerifyArgs) -> Result<ExitCode> {
    let pack = lab.pack_to_run(&lab.data()?)?;
    let kinds: Vec<BackendKind> = match lab.backend {
        BackendName::Engine if lab.endpoint.is_none() => vec![BackendKind::Engine],
        BackendName::Engine | BackendName::Localstack => vec![BackendKind::Localstack],
        BackendName::All => vec![BackendKind::Engine, BackendKind::Localstack],
    };
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let mut summary = Summary::default();
    for kind in kinds {
        let connected = match kind {
            BackendKind::Engine => Connected {
                target: Target::Engine,
                #[cfg(feature = "docker")]
                _container: None,
            },
            BackendKind::Localstack => rt.block_on(localstack(lab.endpoint.as_deref()))?,
        };
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let part = rt.block_on(keylab::lab::verify::verify(
            &pack,
            kind,
            &connected.target,
            scratch.path(),
            args.seed,
            |p| {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(p.label.to_string());
                if bar.is_hidden() && !p.label.is_empty() {
                    eprintln!("{}/{} {}", p.done, p.total, p.label);
                }
            },
        ));
        bar.finish_and_clear();
        summary.cases.extend(part.cases);
        summary.warnings.extend(part.warnings);
        let key = match kind {
            BackendKind::Engine => "engine",
            BackendKind::Localstack => "localstack",
        };
        summary
            .extra
            .insert(key.into(), serde_json::Value::Object(part.extra));
    }
    let exercises = pack.exercises.len().max(1);
    let elapsed = started.elapsed();
    summary
        .extra
        .insert("exercises".into(), json!(pack.exercises.len()));
    summary
        .extra
        .insert("seconds".into(), json!(elapsed.as_secs_f64()));
    out!("{}", report::render(&summary, args.format, "keylab verify"));
    if let Some(path) = &args.junit {
        keylab_engine::fsutil::write_atomic(
            path,
            report::render(&summary, ReportFormat::Junit, "keylab verify").as_bytes(),
        )
        .with_context(|| format!("--junit: cannot write {}", path.display()))?;
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "GITHUB_STEP_SUMMARY: cannot open {}",
                    path.to_string_lossy()
                )
            })?;
        file.write_all(report::markdown_summary(&summary, "keylab verify").as_bytes())?;
    }
    if args.format == ReportFormat::Text {
        outln!(
            "verified {} exercises in {:.2} s ({:.3} s per exercise)",
            pack.exercises.len(),
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / exercises as f64
        );
    }
    if summary.cases.is_empty() {
        eprintln!(
            "error: no exercise of {} runs on the chosen backend, so nothing was verified (fix: add an exercise, or list this backend in an exercise's backends)",
            pack.files.origin
        );
        return Ok(ExitCode::FAILURE);
    }
    if !summary.warnings.is_empty() && args.format != ReportFormat::Text {
        for w in &summary.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(
        if summary.passed() && (!args.strict || summary.warnings.is_empty()) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
