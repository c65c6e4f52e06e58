//! Dependency hygiene and layout rules the compiler does not check: no second version of a
//! crate keylab depends on directly appears unnoticed (each known one is listed with its
//! reason, as cargo-deny's skips are), the engine crate builds without the terminal, the AWS
//! SDK or Docker, and no source file or function grows past the size a newcomer can read.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Second versions of direct dependencies that are accepted, and why.
const KNOWN_DUPLICATES: &[(&str, &str)] = &[
    (
        "base64",
        "0.22 comes with testcontainers (bollard) under the docker feature; keylab and the SDK use 0.23",
    ),
    (
        "quick-xml",
        "0.38 comes with quick-junit; s3s and keylab's Query-protocol client use 0.41",
    ),
    (
        "rand",
        "0.10 comes with testcontainers (ferroid) under the docker feature; keylab uses 0.9",
    ),
];

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The crates every workspace member names in its dependency tables.
fn direct_dependencies() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = BTreeSet::new();
    for manifest in [
        "Cargo.toml",
        "crates/policy/Cargo.toml",
        "crates/engine/Cargo.toml",
        "crates/mask/Cargo.toml",
    ] {
        let text = std::fs::read_to_string(root.join(manifest)).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        for table in ["dependencies", "dev-dependencies"] {
            if let Some(deps) = doc.get(table).and_then(|t| t.as_table()) {
                names.extend(deps.keys().cloned());
            }
        }
    }
    names
}

#[test]
fn no_new_duplicate_of_a_direct_dependency() {
    let tree = cargo(&[
        "tree",
        "--workspace",
        "-e",
        "normal,build,dev",
        "--duplicates",
        "--locked",
        "--offline",
    ]);
    let duplicated: BTreeSet<String> = tree
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let direct = direct_dependencies();
    let known: BTreeSet<String> = KNOWN_DUPLICATES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let new: Vec<&String> = duplicated
        .intersection(&direct)
        .filter(|n| !known.contains(*n))
        .collect();
    assert!(
        new.is_empty(),
        "a second version of {new:?} came in: move keylab to the version the others use, or add it to KNOWN_DUPLICATES with the reason\n{tree}"
    );
    let stale: Vec<&String> = known.difference(&duplicated).collect();
    assert!(
        stale.is_empty(),
        "{stale:?} is no longer duplicated: remove it from KNOWN_DUPLICATES"
    );
}

#[test]
fn the_engine_crate_builds_without_the_terminal_the_sdk_or_docker() {
    let tree = cargo(&[
        "tree",
        "-p",
        "keylab-engine",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--locked",
        "--offline",
    ]);
    for forbidden in [
        "ratatui",
        "crossterm",
        "aws-sdk-",
        "testcontainers",
        "keylab v",
    ] {
        assert!(
            !tree.lines().any(|l| l.starts_with(forbidden)),
            "keylab-engine depends on {forbidden}:\n{tree}"
        );
    }
}

/// Files and functions of `src/` and `crates/` stay readable: no file over 1,000 lines, no
/// function over 150.
#[test]
fn no_source_file_over_1000_lines_or_function_over_150() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "crates"] {
        walk(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let name = file.strip_prefix(root).unwrap().display();
        if lines.len() > 1000 {
            problems.push(format!("{name}: {} lines", lines.len()));
        }
        for (start, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) async fn ",
                "pub(super) async fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || line.trim_end().ends_with(';') {
                continue;
            }
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            let end = lines[start..]
                .iter()
                .position(|l| l.trim_end() == close)
                .unwrap_or(0);
            if end > 150 {
                problems.push(format!("{name}:{}: a function of {end} lines", start + 1));
            }
        }
    }
    assert!(problems.is_empty(), "split these:\n{}", problems.join("\n"));
}

/// Workspace files are reached only through `keylab::confine` (relative paths, no symlink
/// out): the console, the lab and the workshop code never join a name to a workspace path or
/// open one with `std::fs` themselves.
#[test]
fn workspace_files_are_reached_only_through_confine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/console", "src/lab", "src/workshop"] {
        walk(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(root).unwrap().display();
        for (i, line) in text.lines().enumerate() {
            if line.contains("workspace.join(") || line.contains("workspace().join(") {
                problems.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "use keylab::confine for workspace paths:\n{}",
        problems.join("\n")
    );
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
