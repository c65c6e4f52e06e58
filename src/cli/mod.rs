//! The command line: [`Cli`] and its subcommands (parsed by clap), one tokio runtime for every
//! command that needs one ([`runtime`]), and a module per command group, each a thin shell over
//! the library that parses, calls and prints.

/// `println!` that returns the write's error (`?`) instead of panicking, so output piped into
/// `head` ends the command quietly ([`crate::is_broken_pipe`]), and that shows control
/// characters as visible escapes ([`keylab::sanitize::text`]): much of what keylab prints
/// comes from packs, results files, backends and workspaces.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock())?;
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        writeln!(std::io::stdout().lock(), "{}", keylab::sanitize::text(&text))?;
    }};
}

/// `print!` that returns the write's error and sanitises, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        write!(std::io::stdout().lock(), "{}", keylab::sanitize::text(&text))?;
    }};
}

pub mod bench;
pub mod class;
pub mod engine;
pub mod lab;
pub mod localstack;
pub mod mask;
mod mask_s3;
pub mod pack;
pub mod progress;
pub mod study;

use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use keylab::front::tui::theme::Theme;

/// keylab: a terminal lab for protecting data on AWS (KMS, S3 encryption, policies, masking).
#[derive(Debug, Parser)]
#[command(name = "keylab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    lab: lab::LabArgs,
    /// The lab line by line, without the full-screen UI (screen readers, dumb terminals)
    #[arg(long)]
    plain: bool,
    /// Colours [default: mono when NO_COLOR is set, else dark]
    #[arg(long, value_enum)]
    theme: Option<Theme>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the pack's lessons and exercises.
    List {
        /// Print JSON (ids for scripts)
        #[arg(long)]
        json: bool,
    },
    /// Show which lessons, exercises and questions cover each of the pack's objectives
    /// (DEA-C01 task 4.3's items in the built-in pack).
    Coverage {
        /// Print JSON instead of a Markdown table
        #[arg(long)]
        json: bool,
    },
    /// Grade an exercise (exit 0 only when every check passes).
    Check(lab::CheckArgs),
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
        action: Option<progress::ProgressCommand>,
    },
    /// Drill exam questions with spaced repetition (answers are read line by line).
    Drill(study::DrillArgs),
    /// A timed mock exam of the pack's questions (DEA-C01 task 4.3 in the built-in pack), scored
    /// at the end per objective.
    Exam(study::ExamArgs),
    /// Recall and results per objective of the pack (DEA-C01 task 4.3's items in the built-in
    /// pack; our estimate, not AWS's score).
    Readiness {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run console commands (AWS CLI syntax) in an exercise, headless.
    Run(lab::RunArgs),
    /// Print the export lines for using your own tools (aws CLI, boto3, Terraform).
    Env(lab::EnvArgs),
    /// Start your $SHELL in an exercise's workspace with its backend running.
    Shell(lab::EnvArgs),
    /// Prove a pack: setup fails, the solution passes, every wrong variant fails.
    Verify(lab::VerifyArgs),
    /// Mask, tokenise and anonymise CSV, JSON Lines or Parquet (files or s3://) with a rules
    /// file; analyze k-anonymity; generate synthetic data.
    Mask(mask::MaskArgs),
    /// Hand in a workshop's results: one file, signed with your key (needs --workshop ID).
    Submit(class::SubmitArgs),
    /// For instructors: verify the results a class handed in and show who finished what.
    #[command(subcommand)]
    Class(class::ClassCommand),
    /// For pack authors: make a new pack, or lint one without a backend.
    #[command(subcommand)]
    Pack(pack::PackCommand),
    /// Run and manage the built-in AWS engine (KMS over the real wire protocol).
    #[command(subcommand)]
    Engine(engine::EngineCommand),
    /// LocalStack in Docker: keep one running for later commands (`up`, `down`), list and
    /// clean up keylab's containers.
    #[command(subcommand)]
    Localstack(localstack::LocalstackCommand),
    /// Measure the engine's speed and memory.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Engine start-up time, KMS Encrypt requests per second and resident memory.
    Engine(bench::EngineBenchArgs),
    /// S3 PutObject and GetObject throughput under SSE-S3, SSE-KMS and SSE-C.
    S3(bench::S3BenchArgs),
    /// `keylab verify` time per exercise on the engine.
    Verify(bench::VerifyBenchArgs),
    /// The terminal app's first frame and the frame of a long lesson.
    Tui(bench::TuiBenchArgs),
    /// The engine against LocalStack with the same client.
    Compare(bench::CompareBenchArgs),
    /// `keylab mask` rows per second, one thread and every core, against plain Python.
    Mask(bench::MaskBenchArgs),
}

/// The one tokio runtime of the process, made on first use.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// When a signal's cleanup is under way (LocalStack's container being removed), waits for it
/// to end the process with the signal's exit code instead of returning another.
pub fn finish_signal_exit() {
    #[cfg(feature = "docker")]
    while keylab::backend::localstack::exiting() {
        std::thread::park_timeout(std::time::Duration::from_millis(100));
    }
}

/// Parses the command line and runs the command.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        None => lab(&cli),
        Some(command) => dispatch(&cli.lab, command),
    }
}

fn dispatch(args: &lab::LabArgs, command: Command) -> Result<ExitCode> {
    match command {
        Command::List { json } => lab::list(args, json),
        Command::Coverage { json } => lab::coverage(args, json),
        Command::Check(a) => lab::check(args, &a),
        Command::Hint { exercise } => lab::hint(args, &exercise),
        Command::Reset { exercise } => lab::reset(args, &exercise),
        Command::Run(a) => lab::run(args, &a),
        Command::Env(a) => lab::env(args, &a),
        Command::Shell(a) => lab::shell(args, &a),
        Command::Verify(a) => lab::verify(args, &a),
        Command::Progress { json, action } => match action {
            None => progress::show(args, json),
            Some(progress::ProgressCommand::Export { file }) => progress::export(args, &file),
            Some(progress::ProgressCommand::Import { file, replace }) => {
                progress::import(args, &file, replace)
            }
        },
        Command::Drill(a) => study::drill(args, &a),
        Command::Exam(a) => study::exam(args, &a),
        Command::Readiness { json } => study::readiness(args, json),
        Command::Submit(a) => class::submit(args, &a),
        Command::Class(class::ClassCommand::Collect(a)) => class::collect(args, &a),
        Command::Class(class::ClassCommand::Watch(a)) => class::watch(args, &a),
        Command::Pack(pack::PackCommand::New { dir, name }) => pack::new(&dir, name.as_deref()),
        Command::Pack(pack::PackCommand::Lint { dir }) => pack::lint(args, dir.as_deref()),
        Command::Pack(pack::PackCommand::Docs { out }) => pack::docs(out.as_deref()),
        Command::Mask(a) => mask::run(a),
        Command::Engine(engine::EngineCommand::Serve(a)) => engine::serve(a),
        Command::Engine(engine::EngineCommand::Reset(a)) => engine::reset(&a),
        Command::Engine(engine::EngineCommand::Audit(a)) => engine::show_audit(&a),
        Command::Engine(engine::EngineCommand::Clock(a)) => engine::clock(a),
        Command::Localstack(c) => localstack::run(&c),
        Command::Bench(BenchCommand::Engine(a)) => bench::engine(a),
        Command::Bench(BenchCommand::S3(a)) => bench::s3(a),
        Command::Bench(BenchCommand::Verify(a)) => bench::verify(a),
        Command::Bench(BenchCommand::Tui(a)) => bench::tui(a),
        Command::Bench(BenchCommand::Compare(a)) => bench::compare(a),
        Command::Bench(BenchCommand::Mask(a)) => bench::mask(a),
    }
}

/// `keylab` with no command: the TUI, or `--plain` line by line.
fn lab(cli: &Cli) -> Result<ExitCode> {
    use keylab::front::{plain, tui};
    let data = cli.lab.data()?;
    let pack = std::sync::Arc::new(cli.lab.pack_to_run(&data)?);
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    if cli.plain || dumb || !tty {
        let connected = runtime()?.block_on(cli.lab.connect())?;
        let stdin = std::io::stdin();
        plain::run(
            pack,
            data,
            connected.target.clone(),
            stdin.lock(),
            std::io::stdout(),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        return Ok(ExitCode::SUCCESS);
    }
    let target = cli.lab.target_source()?;
    tui::run(
        pack,
        data,
        target,
        cli.theme.unwrap_or_else(Theme::from_env),
    )?;
    Ok(ExitCode::SUCCESS)
}
