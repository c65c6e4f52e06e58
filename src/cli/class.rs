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
    /// One row per learner and exercise.
    Csv,
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

/// `keylab class collect`.
pub fn collect(lab: &LabArgs, args: &CollectArgs) -> Result<ExitCode> {
    let pack = lab.pack_to_run(&lab.data()?)?;
    let roster = match &args.roster {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --roster {}", path.display()))?;
            Some(
                keylab::workshop::class::Roster::parse(&text)
                    .map_err(|e| anyhow!("--roster {}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let class = super::runtime()?
        .block_on(keylab::workshop::class::collect(
            &pack,
            &args.dir,
            lab.workshop.as_deref(),
            roster.as_ref(),
            scratch.path(),
        ))
        .map_err(|e| anyhow!(e))?;
    let failed = !class.rejected.is_empty();
    let text = match args.format {
        ClassFormat::Tui => {
            keylab::front::tui::class_view::run(
                class,
                keylab::front::tui::theme::Theme::from_env(),
            )?;
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        ClassFormat::Table => class.to_text(),
        ClassFormat::Csv => class.to_csv(),
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
