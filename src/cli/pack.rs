//! The pack-author commands: `pack new` (a working pack to start from, with a CI workflow) and
//! `pack lint` (every check a pack must pass, without a backend). Thin shells over
//! `keylab::pack`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;

use super::lab::LabArgs;

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

/// A name as a file- and pack-name-safe slug.
pub fn slug(name: &str) -> String {
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

/// `keylab pack new`.
pub fn new(dir: &Path, name: Option<&str>) -> Result<ExitCode> {
    let name = match name {
        Some(n) => n.to_string(),
        None => slug(
            &dir.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        ),
    };
    let count = keylab::pack::scaffold::create(dir, &name).map_err(|e| anyhow!(e))?;
    outln!(
        "made the pack {name} in {} ({count} files). Next: keylab --pack {0} (try it), keylab pack lint --pack {0}, keylab verify --pack {0}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `keylab pack lint`: loading (strict parsing and the structural rules) and the teaching
/// rules of [`keylab::pack::review`] (sources, no tells in questions).
pub fn lint(lab: &LabArgs) -> Result<ExitCode> {
    let pack = match lab.pack() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let problems = keylab::pack::review::problems(&pack);
    if !problems.is_empty() {
        eprint!("{}", keylab::pack::PackErrors(problems));
        return Ok(ExitCode::FAILURE);
    }
    outln!(
        "{}: {} lessons, {} exercises, {} questions; no problems (sha256 {})",
        pack.files.origin,
        pack.lessons.len(),
        pack.exercises.len(),
        pack.questions.len(),
        pack.hash()
    );
    Ok(ExitCode::SUCCESS)
}
