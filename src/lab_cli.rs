//! The exercise commands of the binary: `list`, `check`, `hint`, `reset`, `progress`, `run`,
//! `env`, `shell` and `verify`. Each is a thin shell over `keylab::lab`: it opens the pack and
//! the learner's data directory, runs the library and prints.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use serde_json::json;

use keylab::lab::grader::{Status, run_checks};
use keylab::lab::progress::{DataDir, Progress};
use keylab::lab::report::{self, Case, ReportFormat, Summary};
use keylab::lab::session::{Session, Target, reset_folder};
use keylab::pack::{BackendKind, Pack};

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
}

/// A backend to run exercises on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendName {
    /// The built-in engine (one per exercise, in process).
    Engine,
    /// LocalStack at --endpoint or KEYLAB_LOCALSTACK_ENDPOINT.
    Localstack,
    /// Both, one after the other (for verify).
    All,
}

/// The LocalStack container started for this process, if any: removed by [`stop_container`].
static CONTAINER: std::sync::Mutex<Option<keylab::backend::localstack::Container>> =
    std::sync::Mutex::new(None);

/// Removes the LocalStack container this process started.
pub fn stop_container() {
    let container = CONTAINER.lock().ok().and_then(|mut c| c.take());
    if let Some(container) = container
        && let Ok(rt) = runtime()
    {
        rt.block_on(async move { drop(container) });
    }
}

/// The LocalStack endpoint: `--endpoint`, `KEYLAB_LOCALSTACK_ENDPOINT`, or a container started
/// in Docker (with a progress line while it starts); otherwise a message that says how to get
/// one.
pub async fn localstack_endpoint(explicit: Option<&str>) -> Result<String> {
    if let Some(e) = explicit {
        return Ok(e.to_string());
    }
    if let Ok(e) = std::env::var("KEYLAB_LOCALSTACK_ENDPOINT")
        && !e.is_empty()
    {
        return Ok(e);
    }
    if !keylab::backend::localstack::docker_available() {
        bail!(
            "--backend localstack: {}",
            keylab::backend::localstack::NO_DOCKER
        );
    }
    eprint!(
        "keylab: starting localstack/localstack:{} in Docker (the first start pulls the image)",
        keylab::backend::localstack::IMAGE_TAG
    );
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(1));
                eprint!(".");
            }
        })
    };
    let started = keylab::backend::localstack::start().await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = ticker.join();
    eprintln!();
    let (container, endpoint) = started.map_err(|e| anyhow!("--backend localstack: {e}"))?;
    eprintln!("keylab: LocalStack answers at {endpoint}");
    if let Ok(mut slot) = CONTAINER.lock() {
        *slot = Some(container);
    }
    Ok(endpoint)
}

/// Connects to a shared backend and probes what it enforces.
pub async fn connect(name: &str, endpoint: &str) -> Result<keylab::backend::Backend> {
    let mut backend =
        keylab::backend::Backend::endpoint(name, endpoint, keylab_engine::DEFAULT_REGION)
            .map_err(|e| anyhow!(e))?;
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

/// The backend target of the TUI, connected (and probed) before the UI starts.
pub fn target_blocking(lab: &LabArgs) -> Result<Target> {
    Ok(runtime()?.block_on(lab.target())?.0)
}

impl LabArgs {
    /// The backend target chosen by --backend / --endpoint, with its folder name.
    async fn target(&self) -> Result<(Target, String)> {
        let name = match (self.backend, &self.endpoint) {
            (BackendName::Engine, None) => return Ok((Target::Engine, "engine".into())),
            (BackendName::Engine, Some(_)) => "endpoint",
            (BackendName::Localstack, _) => "localstack",
            (BackendName::All, _) => {
                bail!("--backend all is for `keylab verify`; choose engine or localstack")
            }
        };
        let endpoint = localstack_endpoint(self.endpoint.as_deref()).await?;
        let backend = connect(name, &endpoint).await?;
        Ok((Target::Shared(backend), name.to_string()))
    }
}

impl LabArgs {
    /// The pack, the data directory and the learner's progress, as every exercise command
    /// needs them.
    pub fn learner(&self) -> Result<(Pack, DataDir, Progress)> {
        let data = self.data()?;
        let progress = load_progress(&data)?;
        Ok((self.pack()?, data, progress))
    }

    /// The pack: `--pack DIR` or the built-in one.
    pub fn pack(&self) -> Result<Pack> {
        Pack::open(self.pack.as_deref()).map_err(|e| anyhow!("{e}"))
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
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn load_progress(data: &DataDir) -> Result<Progress> {
    Progress::load(&data.progress_file()).map_err(|e| anyhow!(e))
}

async fn open(
    lab: &LabArgs,
    pack: &Pack,
    data: &DataDir,
    progress: &Progress,
    id: &str,
) -> Result<Session> {
    let (target, name) = lab.target().await?;
    let session =
        Session::open_on(pack, id, &data.lab_on(id, &name), progress.seed, &target).await?;
    Ok(session)
}

/// `keylab coverage [--json]`.
pub fn coverage(lab: &LabArgs, as_json: bool) -> Result<ExitCode> {
    let pack = lab.pack()?;
    let rows = keylab::pack::coverage::rows(&pack);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", keylab::pack::coverage::to_markdown(&pack, &rows));
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
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", pack.manifest.title);
    for lesson in &pack.lessons {
        println!("\n{}. {}", lesson.order, lesson.title);
        for id in &lesson.exercises {
            if let Some(x) = pack.exercise(id) {
                println!("   {:<28} {}", x.id, x.spec.title);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keylab check`.
pub fn check(lab: &LabArgs, args: &CheckArgs) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    let rt = runtime()?;
    let (results, session_info) = rt.block_on(async {
        let session = open(lab, &pack, &data, &progress, &args.exercise).await?;
        let results = run_checks(&session).await;
        let evidence = keylab::lab::grader::evidence(&session);
        let explanation = session
            .substitute(&session.exercise.spec.explanation)
            .unwrap_or_else(|_| session.exercise.spec.explanation.clone());
        let info = (
            session.seed,
            session.backend.name.clone(),
            explanation,
            session.backend.capabilities.missing(),
            evidence,
        );
        session.shutdown().await;
        anyhow::Ok((results, info))
    })?;
    let exercise = pack.try_exercise(&args.exercise).map_err(|e| anyhow!(e))?;
    let mut summary = Summary::default();
    for r in &results {
        summary.cases.push(Case {
            suite: args.exercise.clone(),
            name: r.title.clone(),
            status: r.status,
            message: r.message.clone(),
            output: r.trace.clone(),
            task: r.task,
            test_code: r.kind.to_string(),
            duration_ms: r.duration_ms,
        });
    }
    let status = summary.status();
    progress.record_results(&args.exercise, &results, session_info.4.clone());
    let rating = progress.record_check(
        &args.exercise,
        exercise.spec.difficulty,
        status == Status::Pass,
        chrono::Utc::now(),
    );
    let entry = progress.entry(&args.exercise);
    entry.last_status = Some(format!("{status:?}").to_lowercase());
    let hints_used = entry.hints_used;
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    summary
        .extra
        .insert("exercise".into(), json!(args.exercise));
    summary.extra.insert("seed".into(), json!(session_info.0));
    summary
        .extra
        .insert("backend".into(), json!(session_info.1));
    summary.extra.insert("hints_used".into(), json!(hints_used));
    if let Some(r) = rating {
        summary
            .extra
            .insert("review".into(), json!(keylab::study::srs::rating_name(r)));
    }
    summary
        .extra
        .insert("dea_items".into(), json!(exercise.spec.dea_items));
    print!("{}", report::render(&summary, args.format, "keylab check"));
    if args.format == ReportFormat::Text {
        if summary.passed() {
            println!("\n{}", session_info.2.trim());
        } else if (hints_used as usize) < exercise.spec.hints.len() {
            println!(
                "\nStuck? `keylab hint {}` shows the next hint.",
                args.exercise
            );
        }
    }
    std::io::stdout().flush()?;
    Ok(if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `keylab hint`.
pub fn hint(lab: &LabArgs, exercise: &str) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    let x = pack.try_exercise(exercise).map_err(|e| anyhow!(e))?;
    let total = x.spec.hints.len();
    let shown = progress.record_hint(exercise, total, chrono::Utc::now()) as usize;
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    for (i, h) in x.spec.hints.iter().take(shown).enumerate() {
        println!("Hint {} of {total}: {}", i + 1, h.trim());
    }
    if shown == total {
        println!("(that was the last hint)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `keylab reset`.
pub fn reset(lab: &LabArgs, exercise: &str) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    pack.try_exercise(exercise).map_err(|e| anyhow!(e))?;
    progress.record_reset(exercise, chrono::Utc::now());
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    let rt = runtime()?;
    rt.block_on(async {
        let (target, name) = lab.target().await?;
        reset_folder(&data.lab_on(exercise, &name), &target)?;
        let session = open(lab, &pack, &data, &progress, exercise).await?;
        println!(
            "{exercise}: workspace and backend state are back to the setup ({})",
            session.workspace.display()
        );
        session.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `keylab progress`.
pub fn progress(lab: &LabArgs, as_json: bool) -> Result<ExitCode> {
    let (pack, _, progress) = lab.learner()?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&progress)?);
        return Ok(ExitCode::SUCCESS);
    }
    let passed = pack
        .exercises
        .iter()
        .filter(|x| {
            progress
                .exercises
                .get(&x.id)
                .is_some_and(|p| p.passed_at.is_some())
        })
        .count();
    println!("{passed} of {} exercises passed", pack.exercises.len());
    let now = chrono::Utc::now();
    let due = progress
        .deck
        .cards
        .keys()
        .filter(|c| progress.deck.is_due(c, now))
        .count();
    println!(
        "{} drill cards reviewed ({} reviews), {due} due now; desired retention {:.2}",
        progress.deck.cards.len(),
        progress.deck.log.len(),
        progress.deck.retention
    );
    for x in &pack.exercises {
        let p = progress.exercises.get(&x.id).cloned().unwrap_or_default();
        let state = match (&p.passed_at, &p.last_status) {
            (Some(_), _) => "passed",
            (None, Some(_)) => "started",
            (None, None) => "new",
        };
        println!(
            "  {:<8} {:<28} attempts {:<3} hints {}",
            state, x.id, p.attempts, p.hints_used
        );
    }
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
        (None, false) => args
            .command
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
        (Some(_), false) => bail!("give either --script FILE or a command after --, not both"),
        (None, true) => bail!(
            "give a command after -- (e.g. keylab run {} -- aws kms list-keys) or --script FILE",
            args.exercise
        ),
    };
    let rt = runtime()?;
    let code = rt.block_on(async {
        let session = open(lab, &pack, &data, &progress, &args.exercise).await?;
        let profile = args
            .profile
            .clone()
            .unwrap_or_else(|| session.exercise.spec.profile.clone());
        let console = session.console_as(&profile);
        let script = session.substitute(&script).map_err(|e| anyhow!(e))?;
        let mut code = 0;
        for step in console.run_script(&script, false).await {
            if args.script.is_some() {
                eprintln!(
                    "$ {}{}",
                    if step.expect_failure { "! " } else { "" },
                    step.line
                );
            }
            print!("{}", step.outcome.stdout);
            eprint!("{}", step.outcome.stderr);
            code = if step.as_expected {
                0
            } else {
                step.outcome.code.max(1)
            };
        }
        session.shutdown().await;
        anyhow::Ok(code)
    })?;
    std::io::stdout().flush()?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn exports(
    session: &Session,
    profile: &str,
    http: &str,
    https: &str,
) -> Result<Vec<(String, String)>> {
    let p = session.backend.profile(profile).map_err(|e| anyhow!(e))?;
    let mut vars = vec![
        ("AWS_ENDPOINT_URL".to_string(), https.to_string()),
        (
            "AWS_DEFAULT_REGION".to_string(),
            session.backend.region.clone(),
        ),
        ("AWS_ACCESS_KEY_ID".to_string(), p.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY".to_string(),
            p.secret_access_key.to_string(),
        ),
        ("KEYLAB_HTTP_ENDPOINT".to_string(), http.to_string()),
    ];
    if let Some(ca) = &session.backend.ca_path {
        vars.push(("AWS_CA_BUNDLE".to_string(), ca.display().to_string()));
    }
    Ok(vars)
}

/// `keylab env`: the export lines for the exercise's backend served on the default ports.
pub fn env(lab: &LabArgs, args: &EnvArgs) -> Result<ExitCode> {
    let (pack, data, progress) = lab.learner()?;
    let rt = runtime()?;
    rt.block_on(async {
        let session = open(lab, &pack, &data, &progress, &args.exercise).await?;
        let profile = args.profile.clone().unwrap_or_else(|| session.exercise.spec.profile.clone());
        if session.backend.engine.is_some() {
            println!(
                "# Start the exercise's backend in another terminal:\n#   keylab engine serve --state-dir {}\n# then, in your shell: eval \"$(keylab env {} --profile {profile})\"",
                data.lab(&args.exercise).join("engine").display(),
                args.exercise
            );
        }
        let (http, https) = match session.backend.engine {
            Some(_) => ("http://127.0.0.1:4510".to_string(), "https://127.0.0.1:4511".to_string()),
            None => (session.backend.http_endpoint.clone(), session.backend.https_endpoint.clone()),
        };
        let vars = exports(&session, &profile, &http, &https)?;
        for (k, v) in vars {
            println!("export {k}={}", shell_quote(&v));
        }
        session.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `keylab shell`: the learner's `$SHELL` in the workspace, with the backend running.
pub fn shell(lab: &LabArgs, args: &EnvArgs) -> Result<ExitCode> {
    let (pack, data, progress) = lab.learner()?;
    let rt = runtime()?;
    let status = rt.block_on(async {
        let session = open(lab, &pack, &data, &progress, &args.exercise).await?;
        let profile = args.profile.clone().unwrap_or_else(|| session.exercise.spec.profile.clone());
        let vars = exports(&session, &profile, &session.backend.http_endpoint, &session.backend.https_endpoint)?;
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
    let pack = lab.pack()?;
    let kinds: Vec<BackendKind> = match lab.backend {
        BackendName::Engine if lab.endpoint.is_none() => vec![BackendKind::Engine],
        BackendName::Engine | BackendName::Localstack => vec![BackendKind::Localstack],
        BackendName::All => vec![BackendKind::Engine, BackendKind::Localstack],
    };
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut summary = Summary::default();
    for kind in kinds {
        let target = match kind {
            BackendKind::Engine => Target::Engine,
            BackendKind::Localstack => {
                let endpoint = rt.block_on(localstack_endpoint(lab.endpoint.as_deref()))?;
                Target::Shared(rt.block_on(connect("localstack", &endpoint))?)
            }
        };
        let part = rt.block_on(keylab::lab::verify::verify(
            &pack,
            kind,
            &target,
            scratch.path(),
            args.seed,
            |p| {
                let width = 30;
                let filled = (p.done * width).checked_div(p.total).unwrap_or(width);
                let line = format!(
                    "[{}{}] {}/{} {}",
                    "=".repeat(filled),
                    " ".repeat(width - filled),
                    p.done,
                    p.total,
                    p.label
                );
                if tty {
                    eprint!("\r\x1b[2K{line}");
                } else {
                    eprintln!("{line}");
                }
            },
        ));
        if tty {
            eprintln!();
        }
        summary.cases.extend(part.cases);
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
    print!("{}", report::render(&summary, args.format, "keylab verify"));
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
        println!(
            "verified {} exercises in {:.2} s ({:.3} s per exercise)",
            pack.exercises.len(),
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / exercises as f64
        );
    }
    Ok(if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
