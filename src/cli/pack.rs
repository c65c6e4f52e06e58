//! The pack-author commands: `pack new` (a working pack to start from, with a CI workflow),
//! `pack lint` (every check a pack must pass, without a backend) and `pack docs` (the
//! pack-format reference, generated from the parser's definitions). Thin shells over
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
    Lint {
        /// The pack folder or .tar.gz [default: --pack, or the built-in pack]
        dir: Option<PathBuf>,
    },
    /// Print the pack-format reference (Markdown), generated from the parser's definitions.
    Docs {
        /// Write it to this file instead (as docs/pack-format.md in keylab's repository)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `n thing` or `n things`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A path as it can be pasted into a shell: quoted when it has spaces or shell characters.
fn shown(path: &Path) -> String {
    shell_words::quote(&path.display().to_string()).into_owned()
}

/// `keylab pack docs`.
pub fn docs(out: Option<&Path>) -> Result<ExitCode> {
    let text = keylab::pack::reference::markdown();
    match out {
        Some(path) => {
            keylab_engine::fsutil::write_atomic(path, text.as_bytes())
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            outln!("wrote the pack-format reference to {}", path.display());
        }
        None => out!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
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
        "made the pack {name} in {} ({count} files). Next: keylab --pack {0} (try it), keylab pack lint {0}, keylab verify --pack {0}. The format: keylab pack docs (docs/pack-format.md)",
        shown(dir)
    );
    Ok(ExitCode::SUCCESS)
}

/// `keylab pack lint`: loading (strict parsing and the structural rules) and the teaching
/// rules of [`keylab::pack::review`] (sources, no tells in questions).
pub fn lint(lab: &LabArgs, dir: Option<&Path>) -> Result<ExitCode> {
    let opened = match dir {
        Some(d) => keylab::pack::Pack::open(Some(d)).map_err(|e| anyhow!("{e}")),
        None => lab.pack(),
    };
    let pack = match opened {
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
        "{}: {}, {}, {}; no problems (sha256 {})",
        pack.files.origin,
        count(pack.lessons.len(), "lesson", "lessons"),
        count(pack.exercises.len(), "exercise", "exercises"),
        count(pack.questions.len(), "question", "questions"),
        pack.hash()
    );
    Ok(ExitCode::SUCCESS)
}
