//! Command-line parsing and the commands that are thin shells over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use keylab_engine::{DEFAULT_REGION, Engine, EngineConfig, audit};

/// keylab: a terminal lab for protecting data on AWS (KMS, S3 encryption, policies, masking).
#[derive(Debug, Parser)]
#[command(name = "keylab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    lab: crate::lab_cli::LabArgs,
    /// The lab line by line, without the full-screen UI (screen readers, dumb terminals)
    #[arg(long)]
    plain: bool,
    /// Colours: dark, light or mono [default: mono when NO_COLOR is set, else dark]
    #[arg(long, value_enum)]
    theme: Option<ThemeChoice>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ThemeChoice {
    Dark,
    Light,
    Mono,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the pack's lessons and exercises.
    List {
        /// Print JSON (ids for scripts)
        #[arg(long)]
        json: bool,
    },
    /// Show which lessons, exercises and questions cover each DEA-C01 task 4.3 item.
    Coverage {
        /// Print JSON instead of a Markdown table
        #[arg(long)]
        json: bool,
    },
    /// Grade an exercise (exit 0 only when every check passes).
    Check(crate::lab_cli::CheckArgs),
    /// Show the next hint of an exercise.
    Hint {
        /// The exercise id
        exercise: String,
    },
    /// Put an exercise's workspace and backend state back to its setup.
    Reset {
        /// The exercise id
        exercise: String,
    },
    /// Show what you have passed; export or import your progress to move between machines.
    Progress {
        /// Print JSON
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<crate::study_cli::ProgressCommand>,
    },
    /// Drill exam questions with spaced repetition (answers are read line by line).
    Drill(crate::study_cli::DrillArgs),
    /// A timed mock exam of DEA-C01 task 4.3, scored at the end per item.
    Exam(crate::study_cli::ExamArgs),
    /// Recall and results per DEA-C01 task 4.3 item (our estimate, not AWS's score).
    Readiness {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run console commands (AWS CLI syntax) in an exercise, headless.
    Run(crate::lab_cli::RunArgs),
    /// Print the export lines for using your own tools (aws CLI, boto3, Terraform).
    Env(crate::lab_cli::EnvArgs),
    /// Start your $SHELL in an exercise's workspace with its backend running.
    Shell(crate::lab_cli::EnvArgs),
    /// Prove a pack: setup fails, the solution passes, every wrong variant fails.
    Verify(crate::lab_cli::VerifyArgs),
    /// Mask, tokenise and anonymise CSV or JSON Lines with a rules file; analyze k-anonymity;
    /// generate synthetic data.
    Mask(crate::mask_cli::MaskArgs),
    /// Hand in a workshop's results: one file, signed with your key (needs --workshop ID).
    Submit(crate::class_cli::SubmitArgs),
    /// For instructors: verify the results a class handed in and show who finished what.
    #[command(subcommand)]
    Class(crate::class_cli::ClassCommand),
    /// For pack authors: make a new pack, or lint one without a backend.
    #[command(subcommand)]
    Pack(crate::class_cli::PackCommand),
    /// Run and manage the built-in AWS engine (KMS over the real wire protocol).
    #[command(subcommand)]
    Engine(EngineCommand),
    /// Measure the engine's speed and memory.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum EngineCommand {
    /// Run the engine in the foreground and print how to connect to it.
    Serve(ServeArgs),
    /// Delete the engine's state (keys, aliases, grants, audit log, generated secrets).
    Reset(StateArgs),
    /// Show the engine's audit log.
    Audit(AuditArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Engine start-up time, KMS Encrypt requests per second and resident memory.
    Engine(crate::bench::EngineBenchArgs),
    /// S3 PutObject and GetObject throughput under SSE-S3, SSE-KMS and SSE-C.
    S3(crate::bench::S3BenchArgs),
    /// `keylab verify` time per exercise on the engine.
    Verify(crate::bench::VerifyBenchArgs),
    /// The terminal app's first frame and the frame of a long lesson.
    Tui(crate::bench::TuiBenchArgs),
    /// The engine against LocalStack with the same client.
    Compare(crate::bench::CompareBenchArgs),
    /// `keylab mask` rows per second, one thread and every core, against plain Python.
    Mask(crate::bench::MaskBenchArgs),
}

#[derive(Debug, Args)]
struct StateArgs {
    /// The engine's state directory [default: the user's data directory]
    #[arg(long, env = "KEYLAB_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    state: StateArgs,
    /// HTTP port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 4510)]
    port: u16,
    /// HTTPS port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 4511)]
    tls_port: u16,
    /// The region to serve
    #[arg(long, default_value = DEFAULT_REGION)]
    region: String,
    /// A TOML file of lab identities to use instead of the built-in ones
    #[arg(long)]
    identities: Option<PathBuf>,
    /// Print the endpoints and identities as one JSON object on the first line of stdout
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct AuditArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Print events as JSON Lines
    #[arg(long)]
    json: bool,
    /// Show only denied requests, with the explanation of each decision
    #[arg(long)]
    denied: bool,
}

/// The default state directory: `<data dir>/keylab/engine`.
pub fn default_state_dir() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("dev", "keylab", "keylab")
        .context("cannot find a home directory for keylab's data: pass --state-dir DIR")?;
    Ok(dirs.data_dir().join("engine"))
}

fn state_dir(args: &StateArgs) -> Result<PathBuf> {
    match &args.state_dir {
        Some(d) => Ok(d.clone()),
        None => default_state_dir(),
    }
}

/// Parses the command line and runs the command.
pub fn run() -> Result<ExitCode> {
    let result = dispatch(Cli::parse());
    crate::lab_cli::stop_container();
    result
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => lab(&cli),
        Some(Command::List { json }) => crate::lab_cli::list(&cli.lab, json),
        Some(Command::Coverage { json }) => crate::lab_cli::coverage(&cli.lab, json),
        Some(Command::Check(args)) => crate::lab_cli::check(&cli.lab, &args),
        Some(Command::Hint { exercise }) => crate::lab_cli::hint(&cli.lab, &exercise),
        Some(Command::Reset { exercise }) => crate::lab_cli::reset(&cli.lab, &exercise),
        Some(Command::Progress { json, action }) => match action {
            None => crate::lab_cli::progress(&cli.lab, json),
            Some(crate::study_cli::ProgressCommand::Export { file }) => {
                crate::study_cli::export(&cli.lab, &file)
            }
            Some(crate::study_cli::ProgressCommand::Import { file, replace }) => {
                crate::study_cli::import(&cli.lab, &file, replace)
            }
        },
        Some(Command::Submit(args)) => crate::class_cli::submit(&cli.lab, &args),
        Some(Command::Class(crate::class_cli::ClassCommand::Collect(args))) => {
            crate::class_cli::collect(&cli.lab, &args)
        }
        Some(Command::Pack(crate::class_cli::PackCommand::New { dir, name })) => {
            crate::class_cli::pack_new(&dir, name.as_deref())
        }
        Some(Command::Pack(crate::class_cli::PackCommand::Lint)) => {
            crate::class_cli::pack_lint(&cli.lab)
        }
        Some(Command::Drill(args)) => crate::study_cli::drill(&cli.lab, &args),
        Some(Command::Exam(args)) => crate::study_cli::exam(&cli.lab, &args),
        Some(Command::Readiness { json }) => crate::study_cli::readiness(&cli.lab, json),
        Some(Command::Run(args)) => crate::lab_cli::run(&cli.lab, &args),
        Some(Command::Env(args)) => crate::lab_cli::env(&cli.lab, &args),
        Some(Command::Shell(args)) => crate::lab_cli::shell(&cli.lab, &args),
        Some(Command::Verify(args)) => crate::lab_cli::verify(&cli.lab, &args),
        Some(Command::Mask(args)) => crate::mask_cli::run(args),
        Some(Command::Engine(EngineCommand::Serve(args))) => serve(args),
        Some(Command::Engine(EngineCommand::Reset(args))) => reset(&args),
        Some(Command::Engine(EngineCommand::Audit(args))) => show_audit(&args),
        Some(Command::Bench(BenchCommand::Engine(args))) => crate::bench::engine(args),
        Some(Command::Bench(BenchCommand::S3(args))) => crate::bench::s3(args),
        Some(Command::Bench(BenchCommand::Verify(args))) => crate::bench::verify(args),
        Some(Command::Bench(BenchCommand::Tui(args))) => crate::bench::tui(args),
        Some(Command::Bench(BenchCommand::Compare(args))) => crate::bench::compare(args),
        Some(Command::Bench(BenchCommand::Mask(args))) => crate::bench::mask(args),
    }
}

/// `keylab` with no command: the TUI, or `--plain` line by line.
fn lab(cli: &Cli) -> Result<ExitCode> {
    use keylab::tui;
    let pack = std::sync::Arc::new(cli.lab.pack()?);
    let data = cli.lab.data()?;
    let target = crate::lab_cli::target_blocking(&cli.lab)?;
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    if cli.plain || dumb || !tty {
        let stdin = std::io::stdin();
        tui::plain::run(pack, data, target, stdin.lock(), std::io::stdout())
            .map_err(|e| anyhow::anyhow!(e))?;
        return Ok(ExitCode::SUCCESS);
    }
    let theme = match cli.theme {
        Some(ThemeChoice::Dark) => tui::theme::Theme::Dark,
        Some(ThemeChoice::Light) => tui::theme::Theme::Light,
        Some(ThemeChoice::Mono) => tui::theme::Theme::Mono,
        None => tui::theme::Theme::from_env(),
    };
    tui::run(pack, data, target, theme)?;
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    let state_dir = state_dir(&args.state)?;
    let config = EngineConfig {
        state_dir,
        http_port: args.port,
        https_port: args.tls_port,
        region: args.region.clone(),
        identities_file: args.identities.clone(),
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let engine = Engine::start(config).await?;
        if args.json {
            println!("{}", serde_json::to_string(&describe(&engine))?);
        } else {
            print_banner(&engine);
        }
        use std::io::Write;
        std::io::stdout().flush()?;
        wait_for_stop().await;
        engine.shutdown().await;
        if !args.json {
            eprintln!(
                "keylab engine stopped; state kept in {}",
                config_dir_display(&args.state)
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn config_dir_display(args: &StateArgs) -> String {
    state_dir(args)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn describe(engine: &Engine) -> serde_json::Value {
    let identities: Vec<_> = engine
        .identities()
        .identities()
        .iter()
        .map(|i| {
            json!({
                "name": i.profile,
                "account": i.caller.account,
                "arn": i.caller.arn,
                "access_key_id": i.access_key_id,
                "secret_access_key": i.secret.expose(),
            })
        })
        .collect();
    json!({
        "http": engine.http_endpoint(),
        "https": engine.https_endpoint(),
        "ca_cert": engine.ca_cert_path(),
        "region": engine.region(),
        "state_dir": engine.state_dir(),
        "identities": identities,
    })
}

fn print_banner(engine: &Engine) {
    println!(
        "keylab engine ready in {} ms",
        engine.startup_time().as_millis()
    );
    println!("  HTTP   {}", engine.http_endpoint());
    println!(
        "  HTTPS  {}  (trust {})",
        engine.https_endpoint(),
        engine.ca_cert_path().display()
    );
    println!(
        "  region {}, state in {}",
        engine.region(),
        engine.state_dir().display()
    );
    println!();
    println!("Lab identities:");
    for i in engine.identities().identities() {
        println!("  {:<17} {}", i.profile, i.caller.arn);
        println!(
            "  {:<17} access key {}  secret {}",
            "",
            i.access_key_id,
            i.secret.expose()
        );
    }
    if let Some(first) = engine.identities().identities().first() {
        println!();
        println!(
            "Use it from the aws CLI, boto3 or any SDK, for example as {}:",
            first.profile
        );
        println!(
            "  export AWS_ENDPOINT_URL={} AWS_DEFAULT_REGION={}",
            engine.http_endpoint(),
            engine.region()
        );
        println!(
            "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
            first.access_key_id,
            first.secret.expose()
        );
        println!(
            "  (over HTTPS: AWS_ENDPOINT_URL={} AWS_CA_BUNDLE={})",
            engine.https_endpoint(),
            engine.ca_cert_path().display()
        );
    }
    println!();
    println!("Press Ctrl-C to stop.");
}

fn reset(args: &StateArgs) -> Result<ExitCode> {
    let dir = state_dir(args)?;
    keylab_engine::state::reset(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    println!("engine state cleared: {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn show_audit(args: &AuditArgs) -> Result<ExitCode> {
    let path = state_dir(&args.state)?.join(audit::FILE_NAME);
    if !path.exists() {
        bail!(
            "{} does not exist: the engine has not served any request with this state directory",
            path.display()
        );
    }
    let events = audit::read_file(&path).map_err(anyhow::Error::msg)?;
    for e in events
        .iter()
        .filter(|e| !args.denied || e.decision.as_deref() == Some("Deny"))
    {
        if args.json {
            println!("{}", serde_json::to_string(e)?);
            continue;
        }
        let who = e
            .user_identity
            .as_ref()
            .map(|u| u.arn.as_str())
            .unwrap_or("(unauthenticated)");
        let outcome = e.error_code.as_deref().unwrap_or("OK");
        let transport = if e.secure_transport { "https" } else { "http" };
        println!(
            "{} {:<32} {:<8} {:<5} {} {}",
            e.event_time,
            e.event_name,
            outcome,
            transport,
            who,
            e.resources.join(",")
        );
        if let (true, Some(trace)) = (args.denied, &e.trace) {
            for s in &trace.statements {
                println!(
                    "    {} {} ({}): {}",
                    s.policy,
                    s.statement,
                    s.effect,
                    if s.applies {
                        "applies"
                    } else {
                        "does not apply"
                    }
                );
                for n in &s.notes {
                    println!("      - {n}");
                }
            }
            for step in &trace.steps {
                println!("    => {step}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
