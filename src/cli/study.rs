//! The exam-practice commands of the binary: `drill`, `exam`, `readiness`, and `progress
//! export` / `progress import` for moving between machines. Thin shells over `keylab::study`:
//! they read answers from standard input line by line and save the progress after each one.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use chrono::Utc;
use clap::Args;
use serde_json::json;

use keylab::lab::progress::{DataDir, Progress};
use keylab::study::drill::{Pick, questions};
use keylab::study::exam::{ExamConfig, pick};
use keylab::study::srs::check_retention;
use keylab::study::{readiness, text};

use crate::cli::lab::LabArgs;

/// `keylab drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Only questions due for review
    #[arg(long, conflicts_with_all = ["lesson", "item"])]
    pub due: bool,
    /// Only one lesson's (module's) questions, by id (see `keylab list`)
    #[arg(long, conflicts_with = "item")]
    pub lesson: Option<String>,
    /// Only one objective's questions (the pack's; in the built-in pack DEA-C01 task 4.3's
    /// K1 … K4, S1 … S4)
    #[arg(long)]
    pub item: Option<String>,
    /// Questions in the round
    #[arg(long, default_value_t = keylab::study::drill::ROUND_SIZE)]
    pub count: usize,
    /// Desired retention from 0.70 to 0.97, kept for later reviews [default: 0.90]
    #[arg(long)]
    pub retention: Option<f64>,
    /// How exercise results rate their cards, kept for later: `graded` (Again, Hard, Good or
    /// Easy from failures, hints and time) or `pass-fail` (Good or Again, as many Anki users
    /// rate)
    #[arg(long, value_enum)]
    pub rating: Option<RatingMode>,
}

/// How exercise results rate their cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RatingMode {
    /// Again, Hard, Good or Easy.
    Graded,
    /// Good or Again.
    PassFail,
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
    if let Some(mode) = args.rating {
        progress.deck.pass_fail = mode == RatingMode::PassFail;
    }
    let what = match (&args.lesson, &args.item, args.due) {
        (Some(l), _, _) => Pick::Lesson(l.clone()),
        (_, Some(i), _) => Pick::Item(pack.find_objective(i).unwrap_or_else(|| i.clone())),
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
        outln!(
            "Nothing is due for review now. `keylab drill` (a mixed round), --lesson or --item drill anyway."
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Drill: {} ({} questions)",
        what.describe(&pack),
        round.len()
    );
    let learner = progress.seed;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines().map_while(Result::ok);
    let mut out = std::io::stdout();
    progress
        .with_deck(&data.progress_file(), |deck, save| {
            text::drill(
                &pack,
                deck,
                learner,
                &round,
                &mut lines,
                &mut out,
                &Utc::now,
                save,
            )
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
    let learner = progress.seed;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines().map_while(Result::ok);
    let mut out = std::io::stdout();
    progress
        .with_deck(&data.progress_file(), |deck, save| {
            text::exam(
                &pack,
                deck,
                learner,
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
    let (pack, data, mut progress) = lab.learner()?;
    let notice = progress.notice.take();
    if notice.is_some() {
        save(&progress, &data)?;
    }
    let rows = progress.readiness(&pack, Utc::now());
    if as_json {
        let out = json!({
            "items": rows,
            "overall_recall": readiness::overall(&rows),
            "note": keylab::study::exam::ESTIMATE_NOTE,
            "notice": notice,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(notice) = notice {
        outln!("{notice}\n");
    }
    out!("{}", readiness::to_table(&rows));
    Ok(ExitCode::SUCCESS)
}
