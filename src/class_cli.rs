//! The workshop and pack-author commands of the binary: `submit` (a learner's signed results),
//! `class collect` (the instructor's class table), `pack new` and `pack lint`. Thin shells over
//! `keylab::workshop` and `keylab::pack`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};

use keylab::workshop::results;

use crate::lab_cli::LabArgs;

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

/// `keylab pack …`.
#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Make a new pack with one working exercise and a CI workflow.
    New {
        /// The folder to create (must not exist or be empty)
        dir: PathBuf,
        /// The pack's machine name [default: the folder's name]
        #[arg(long)]
        name: Option<String>,
    },
    /// Check a pack's files without a backend: strict parsing, hints, tags, links, questions.
    Lint,
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
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
        PathBuf::from(format!("results-{}-{}.json", slug(&workshop), slug(&name)))
    });
    keylab_engine::fsutil::write_atomic(&out, &serde_json::to_vec_pretty(&file)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let passed = file
        .payload
        .exercises
        .iter()
        .filter(|x| x.passed_at.is_some())
        .count();
    println!(
        "wrote {} for {name}, workshop {workshop}: {passed} of {} exercises passed, {} opened",
        out.display(),
        pack.exercises.len(),
        file.payload.exercises.len()
    );
    println!(
        "signed with your key {} (tell your instructor if they ask); hand the file in as they said",
        results::fingerprint(&file.public_key)
    );
    Ok(ExitCode::SUCCESS)
}

/// `keylab class collect`.
pub fn collect(lab: &LabArgs, args: &CollectArgs) -> Result<ExitCode> {
    let pack = lab.pack()?;
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let class = rt
        .block_on(keylab::workshop::class::collect(
            &pack,
            &args.dir,
            lab.workshop.as_deref(),
            scratch.path(),
        ))
        .map_err(|e| anyhow!(e))?;
    let failed = !class.rejected.is_empty();
    let text = match args.format {
        ClassFormat::Tui => {
            keylab::tui::class_view::run(class, keylab::tui::theme::Theme::from_env())?;
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
        None => print!("{text}"),
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `keylab pack new`.
pub fn pack_new(dir: &Path, name: Option<&str>) -> Result<ExitCode> {
    let name = match name {
        Some(n) => n.to_string(),
        None => slug(
            &dir.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        ),
    };
    let count = keylab::pack::scaffold::create(dir, &name).map_err(|e| anyhow!(e))?;
    println!(
        "made the pack {name} in {} ({count} files). Next: keylab --pack {0} (try it), keylab pack lint --pack {0}, keylab verify --pack {0}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `keylab pack lint`.
pub fn pack_lint(lab: &LabArgs) -> Result<ExitCode> {
    let pack = match lab.pack() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!(
        "{}: {} lessons, {} exercises, {} questions; no problems (sha256 {})",
        pack.files.origin,
        pack.lessons.len(),
        pack.exercises.len(),
        pack.questions.len(),
        pack.hash()
    );
    Ok(ExitCode::SUCCESS)
}
