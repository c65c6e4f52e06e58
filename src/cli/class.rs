//! The workshop commands: `submit` (a learner's signed results) and `class collect` (the
//! instructor's class table). Thin shells over `keylab::workshop`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};

use keylab::workshop::results;

use crate::cli::lab::LabArgs;

/// `keylab submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Your name as the instructor should see it (remembered for the next submit)
    #[arg(long)]
    pub name: Option<String>,
    /// The results file to write [default: results-<workshop>-<name>.json here]
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// `keylab class …`.
#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Verify every results file in a folder and show the class table.
    Collect(CollectArgs),
    /// The class table while the workshop runs: collected again whenever results files
    /// arrive in the folder (a shared folder or scp; no server). Ctrl-C or q ends it.
    Watch(WatchArgs),
}

/// `keylab class watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The folder learners hand their results files (*.json) in to
    pub dir: PathBuf,
    /// How to show the class: the full-screen table, or the text table printed again on
    /// each change [default: tui on a terminal, else table]
    #[arg(long, value_enum)]
    pub format: Option<WatchFormat>,
    /// Seconds between looks at the folder
    #[arg(long, default_value = "3", value_name = "SECONDS")]
    pub interval: f64,
    /// The learners' key fingerprints and names (as for collect)
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
}

/// How `class watch` shows the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    /// The text table, printed again on each change.
    Table,
    /// The full-screen table, refreshed in place.
    Tui,
}

/// `keylab class collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The folder of results files (*.json) the learners handed in
    pub dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ClassFormat,
    /// Write to this file instead of standard output
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The learners' key fingerprints (as `keylab submit` prints them) and names, one per
    /// line: results signed with any other key are rejected
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
}

/// How `class collect` prints the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassFormat {
    /// Text tables for the terminal.
    Table,
    /// The full-screen table: learners, exercises, checks failed, rejected files.
    Tui,
    /// One row per learner and exercise opened: status, attempts, hints, minutes, times,
    /// failing checks, known mistake.
    Csv,
    /// One row per learner, one column per exercise (for spreadsheets and LMS gradebooks).
    CsvWide,
    /// Everything, for scripts.
    Json,
}

/// `keylab submit`.
pub fn submit(lab: &LabArgs, args: &SubmitArgs) -> Result<ExitCode> {
    let Some(workshop) = lab.workshop.clone() else {
        bail!(
            "submit hands in a workshop's results: run it with --workshop ID, as you started the lab"
        );
    };
    let (pack, data, mut progress) = lab.learner()?;
    let name = match (&args.name, &progress.learner) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().to_string(),
        (None, Some(n)) => n.clone(),
        _ => {
            bail!("give your name once with --name \"Your Name\" (it is kept for the next submit)")
        }
    };
    progress.learner = Some(name.clone());
    progress
        .save(&data.progress_file())
        .map_err(|e| anyhow!(e))?;
    let key = results::learner_key(&data.0.join("learner.key")).map_err(|e| anyhow!(e))?;
    let file = results::sign(
        results::payload(&pack, &progress, &name, &workshop, chrono::Utc::now()),
        &key,
    );
    let out = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "results-{}-{}.json",
            super::pack::slug(&workshop),
            super::pack::slug(&name)
        ))
    });
    keylab_engine::fsutil::write_atomic(&out, &serde_json::to_vec_pretty(&file)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let passed = file
        .payload
        .exercises
        .iter()
        .filter(|x| x.passed_at.is_some())
        .count();
    outln!(
        "wrote {} for {name}, workshop {workshop}: {passed} of {} exercises passed, {} opened",
        out.display(),
        pack.exercises.len(),
        file.payload.exercises.len()
    );
    outln!(
        "signed with your key {} (tell your instructor if they ask); hand the file in as they said",
        results::fingerprint(&file.public_key)
    );
    Ok(ExitCode::SUCCESS)
}

fn roster(path: Option<&PathBuf>) -> Result<Option<keylab::workshop::class::Roster>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --roster {}", path.display()))?;
    keylab::workshop::class::Roster::parse(&text)
        .map(Some)
        .map_err(|e| anyhow!("--roster {}: {e}", path.display()))
}

/// Where the instructor's known-mistake sets are cached.
fn cache_dir(lab: &LabArgs) -> Option<PathBuf> {
    lab.data().ok().map(|d| d.0.join("class"))
}

/// `keylab class collect`.
pub fn collect(lab: &LabArgs, args: &CollectArgs) -> Result<ExitCode> {
    let pack = lab.pack_to_run(&lab.data()?)?;
    let roster = roster(args.roster.as_ref())?;
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let cache = cache_dir(lab);
    let mut collector = keylab::workshop::class::Collector::new(
        &pack,
        lab.workshop.as_deref(),
        roster,
        scratch.path(),
        cache.as_deref(),
    );
    let class = super::runtime()?
        .block_on(collector.collect(&args.dir))
        .map_err(|e| anyhow!(e))?;
    let failed = !class.rejected.is_empty();
    let text = match args.format {
        ClassFormat::Tui => {
            keylab::front::tui::class_view::run(
                class,
                keylab::front::tui::theme::Theme::from_env(),
                None,
            )?;
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        ClassFormat::Table => class.to_text(),
        ClassFormat::Csv => class.to_csv(),
        ClassFormat::CsvWide => class.to_csv_wide(),
        ClassFormat::Json => serde_json::to_string_pretty(&class)? + "\n",
    };
    match &args.output {
        Some(path) => keylab_engine::fsutil::write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `keylab class watch`.
pub fn watch(lab: &LabArgs, args: &WatchArgs) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !(args.interval.is_finite() && (0.05..=3600.0).contains(&args.interval)) {
        bail!(
            "--interval {}: give seconds between 0.05 and 3600",
            args.interval
        );
    }
    let pack = lab.pack_to_run(&lab.data()?)?;
    let roster = roster(args.roster.as_ref())?;
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let cache = cache_dir(lab);
    let mut collector = keylab::workshop::class::Collector::new(
        &pack,
        lab.workshop.as_deref(),
        roster,
        scratch.path(),
        cache.as_deref(),
    );
    let runtime = super::runtime()?;
    let interval = std::time::Duration::from_secs_f64(args.interval);
    let mut watch = keylab::workshop::watch::Watch::default();
    // A folder of several workshops is not an error here: the view says so and waits.
    let mut look = || -> Option<Result<keylab::workshop::class::Class, String>> {
        watch
            .changed(&args.dir)
            .then(|| runtime.block_on(collector.collect(&args.dir)))
    };
    let tui = match args.format {
        Some(f) => f == WatchFormat::Tui,
        None => std::io::stdout().is_terminal(),
    };
    if tui {
        let first = match look() {
            Some(Ok(class)) => class,
            Some(Err(e)) => bail!(e),
            None => unreachable!("the first look always collects"),
        };
        let mut refresh = look;
        keylab::front::tui::class_view::run(
            first,
            keylab::front::tui::theme::Theme::from_env(),
            Some((interval, &mut refresh)),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let clear = std::io::stdout().is_terminal();
    loop {
        if let Some(result) = look() {
            if clear {
                use std::io::Write as _;
                write!(std::io::stdout().lock(), "\x1b[2J\x1b[H")?;
            }
            let at = chrono::Local::now().format("%H:%M:%S");
            match result {
                Ok(class) => {
                    outln!("── {} · updated {at} ──", args.dir.display());
                    out!("{}", class.to_text());
                }
                Err(e) => outln!("── {} · {at}: {e} ──", args.dir.display()),
            }
            use std::io::Write as _;
            std::io::stdout().lock().flush()?;
        }
        std::thread::sleep(interval);
    }
}
