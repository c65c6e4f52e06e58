//! `keylab progress`: what the learner has passed and reviewed, and `progress export` /
//! `progress import` to move it between machines (merged, or replaced with `--replace`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;

use keylab::lab::course;
use keylab::lab::progress::{DataDir, Progress};

use super::lab::LabArgs;

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

/// `keylab progress`.
pub fn show(lab: &LabArgs, as_json: bool) -> Result<ExitCode> {
    let (pack, _, progress) = lab.learner()?;
    if as_json {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &progress)?;
        writeln!(stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = Utc::now();
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
    outln!("{passed} of {} exercises passed", pack.exercises.len());
    let due = progress
        .deck
        .cards
        .keys()
        .filter(|c| progress.deck.is_due(c, now))
        .count();
    outln!(
        "{} drill cards reviewed ({} reviews), {due} due now; desired retention {:.2}",
        progress.deck.cards.len(),
        progress.deck.log.len(),
        progress.deck.retention
    );
    for x in &pack.exercises {
        let p = progress.exercises.get(&x.id).cloned().unwrap_or_default();
        let state = course::state_of(&progress, &x.id, now);
        outln!(
            "  {:<14} {:<28} attempts {:<3} hints {}",
            state.word(),
            x.id,
            p.attempts,
            p.hints_used
        );
    }
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
        outln!();
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
    outln!(
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
