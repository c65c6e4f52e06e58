//! The exam-practice commands of the binary: `drill`, `exam`, `readiness`, and `progress
//! export` / `progress import` for moving between machines. Thin shells over `keylab::study`:
//! they read answers from standard input line by line and save the progress after each one.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::json;

use keylab::lab::progress::{DataDir, Progress};
use keylab::study::drill::{Pick, questions};
use keylab::study::exam::{ExamConfig, pick};
use keylab::study::srs::check_retention;
use keylab::study::{readiness, text};

use crate::lab_cli::LabArgs;

/// `keylab drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Only questions due for review
    #[arg(long, conflicts_with_all = ["lesson", "item"])]
    pub due: bool,
    /// Only one lesson's (module's) questions, by id (see `keylab list`)
    #[arg(long, conflicts_with = "item")]
    pub lesson: Option<String>,
    /// Only one DEA-C01 task 4.3 item's questions (K1 … K4, S1 … S4)
    #[arg(long)]
    pub item: Option<String>,
    /// Questions in the round
    #[arg(long, default_value_t = keylab::study::drill::ROUND_SIZE)]
    pub count: usize,
    /// Desired retention from 0.70 to 0.97, kept for later reviews [default: 0.90]
    #[arg(long)]
    pub retention: Option<f64>,
}

/// `keylab exam`.
#[derive(Debug, Args)]
pub struct ExamArgs {
    /// Questions asked [default: 20]
    #[arg(long)]
    pub questions: Option<usize>,
    /// Minutes allowed [default: 2 a question, the real exam's pace]
    #[arg(long)]
    pub minutes: Option<u32>,
    /// Desired retention from 0.70 to 0.97, kept for later reviews [default: 0.90]
    #[arg(long)]
    pub retention: Option<f64>,
}

/// `keylab progress export|import`.
#[derive(Debug, Subcommand)]
pub enum ProgressCommand {
    /// Write all your progress (exercises, drill cards and reviews) to one file.
    Export {
        /// The file to write (`-` for standard output)
        file: PathBuf,
    },
    /// Read progress exported on another machine and merge it into this one's.
    Import {
        /// The exported file
        file: PathBuf,
        /// Replace this machine's progress instead of merging
        #[arg(long)]
        replace: bool,
    },
}

/// What an export file says it is.
const EXPORT_KIND: &str = "keylab-progress";

fn save(progress: &Progress, data: &DataDir) -> Result<()> {
    progress.save(&data.progress_file()).map_err(|e| anyhow!(e))
}

fn set_retention(progress: &mut Progress, retention: Option<f64>) -> Result<()> {
    if let Some(r) = retention {
        progress.deck.retention = check_retention(r).map_err(|e| anyhow!("--retention: {e}"))?;
    }
    Ok(())
}

/// `keylab drill`.
pub fn drill(lab: &LabArgs, args: &DrillArgs) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    set_retention(&mut progress, args.retention)?;
    let what = match (&args.lesson, &args.item, args.due) {
        (Some(l), _, _) => Pick::Lesson(l.clone()),
        (_, Some(i), _) => Pick::Item(i.clone()),
        (_, _, true) => Pick::Due,
        _ => Pick::Mixed,
    };
    what.validate(&pack).map_err(|e| anyhow!(e))?;
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let now = Utc::now();
    let seed = progress.round_seed();
    let round = questions(&pack, &progress.deck, &what, now, args.count, seed);
    save(&progress, &data)?;
    if round.is_empty() {
        println!(
            "Nothing is due for review now. `keylab drill` (a mixed round), --lesson or --item drill anyway."
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Drill: {} ({} questions)",
        what.describe(&pack),
        round.len()
    );
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines().map_while(Result::ok);
    let mut out = std::io::stdout();
    progress
        .with_deck(&data.progress_file(), |deck, save| {
            text::drill(&pack, deck, &round, &mut lines, &mut out, &Utc::now, save)
        })
        .map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}

/// `keylab exam`.
pub fn exam(lab: &LabArgs, args: &ExamArgs) -> Result<ExitCode> {
    let (pack, data, mut progress) = lab.learner()?;
    set_retention(&mut progress, args.retention)?;
    let config = ExamConfig::new(args.questions, args.minutes).map_err(|e| anyhow!(e))?;
    let seed = progress.round_seed();
    let picked = pick(&pack, config.questions, seed);
    if picked.is_empty() {
        bail!("the pack has no questions to make an exam of");
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines().map_while(Result::ok);
    let mut out = std::io::stdout();
    progress
        .with_deck(&data.progress_file(), |deck, save| {
            text::exam(
                &pack,
                deck,
                &picked,
                config.minutes,
                &mut lines,
                &mut out,
                &Utc::now,
                save,
            )
        })
        .map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}

/// `keylab readiness`.
pub fn readiness(lab: &LabArgs, as_json: bool) -> Result<ExitCode> {
    let (pack, _, progress) = lab.learner()?;
    let rows = progress.readiness(&pack, Utc::now());
    if as_json {
        let out = json!({
            "items": rows,
            "overall_recall": readiness::overall(&rows),
            "note": keylab::study::exam::ESTIMATE_NOTE,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", readiness::to_table(&rows));
    Ok(ExitCode::SUCCESS)
}

/// `keylab progress export FILE`.
pub fn export(lab: &LabArgs, file: &Path) -> Result<ExitCode> {
    let (_, _, progress) = lab.learner()?;
    let out = json!({
        "kind": EXPORT_KIND,
        "exported_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "keylab_version": env!("CARGO_PKG_VERSION"),
        "progress": progress,
    });
    let bytes = serde_json::to_vec_pretty(&out)?;
    if file == Path::new("-") {
        std::io::stdout().write_all(&bytes)?;
        println!();
        return Ok(ExitCode::SUCCESS);
    }
    keylab_engine::fsutil::write_atomic(file, &bytes)
        .with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!(
        "exported {} exercises, {} cards and {} reviews to {}",
        progress.exercises.len(),
        progress.deck.cards.len(),
        progress.deck.log.len(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads an export file (or a plain `progress.json`).
fn read_export(file: &Path) -> Result<Progress> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{}: not JSON ({e}); give a file from `keylab progress export`",
            file.display()
        )
    })?;
    let inner = match value.get("kind").and_then(|k| k.as_str()) {
        Some(EXPORT_KIND) => value
            .get("progress")
            .cloned()
            .ok_or_else(|| anyhow!("{}: the export has no \"progress\" field", file.display()))?,
        Some(other) => bail!(
            "{}: a {other:?} file, not a keylab progress export",
            file.display()
        ),
        None => value,
    };
    Progress::from_json(&serde_json::to_vec(&inner)?)
        .map_err(|e| anyhow!("{}: {e}", file.display()))
}

/// `keylab progress import FILE`.
pub fn import(lab: &LabArgs, file: &Path, replace: bool) -> Result<ExitCode> {
    let (_, data, mut progress) = lab.learner()?;
    let theirs = read_export(file)?;
    let was_empty = progress.is_empty();
    if replace {
        progress = theirs;
    } else {
        progress.merge(&theirs);
    }
    save(&progress, &data)?;
    println!(
        "imported {}: now {} exercises, {} cards and {} reviews{}",
        file.display(),
        progress.exercises.len(),
        progress.deck.cards.len(),
        progress.deck.log.len(),
        if replace || was_empty {
            " (the exported seed is used, so names and data match the other machine)"
        } else {
            " (merged; this machine's seed is kept)"
        }
    );
    Ok(ExitCode::SUCCESS)
}
