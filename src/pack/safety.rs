//! The pack lint's safety rules: a pack comes from someone else, so `keylab pack lint` (and
//! every load) refuses what would reach outside the exercise's workspace or take over the
//! learner's terminal, naming the file and line: a path that is absolute or climbs with `..`
//! (a `dataset`, masking rules and inputs, check paths, the `> file`, `file://`, `--out` and
//! other local paths of setup steps and scripts, a masking key's `file:`/`kms:` source), and a
//! control character or bidirectional override anywhere in the pack's text. Running such a
//! path is refused anyway ([`crate::confine`]); this says so before anything runs.

use std::collections::BTreeMap;

use super::model::CheckKind;
use super::{Exercise, Grader, PackError, PackFiles};
use crate::confine;

/// Every safety problem of the pack.
pub(super) fn check(
    files: &PackFiles,
    exercises: &[Exercise],
    graders: &BTreeMap<String, Grader>,
    errors: &mut Vec<PackError>,
) {
    control_characters(files, errors);
    for x in exercises {
        let path = format!("exercises/{}/exercise.toml", x.id);
        let text = files.text(&path).unwrap_or_default();
        for step in &x.spec.setup {
            if let Some(dataset) = &step.dataset {
                outside(
                    files,
                    &path,
                    line_of(text, dataset),
                    "dataset",
                    dataset,
                    errors,
                );
            }
            for local in step
                .run
                .iter()
                .flat_map(|r| crate::console::args::local_paths(r))
            {
                outside(
                    files,
                    &path,
                    line_of(text, &local),
                    "a setup step",
                    &local,
                    errors,
                );
            }
        }
        for (name, bytes) in &x.starters {
            key_sources(files, &format!("exercises/{}/{name}", x.id), bytes, errors);
        }
    }
    for (id, grader) in graders {
        grader_paths(files, id, grader, errors);
    }
}

fn grader_paths(files: &PackFiles, id: &str, grader: &Grader, errors: &mut Vec<PackError>) {
    let path = &grader.path;
    let text = files.text(path).unwrap_or_default();
    if let Some(m) = &grader.masking {
        for name in std::iter::once(&m.rules).chain(&m.inputs) {
            outside(files, path, line_of(text, name), "[masking]", name, errors);
        }
    }
    for check in &grader.checks {
        let named: Vec<&String> = match &check.kind {
            CheckKind::File(c) => vec![&c.path],
            CheckKind::Document(c) => vec![&c.path],
            CheckKind::RoundTrip(c) => vec![&c.original, &c.encrypted],
            _ => vec![],
        };
        for name in named.into_iter().filter(|n| !n.starts_with("s3://")) {
            outside(files, path, Some(check.line), "a check", name, errors);
        }
    }
    let attempts = std::iter::once(("solution".to_string(), &grader.solution)).chain(
        grader
            .wrong
            .iter()
            .map(|(name, a)| (format!("wrong/{name}"), a)),
    );
    for (name, attempt) in attempts {
        let base = format!("graders/{id}/{name}");
        let script = if files.bytes(&base).is_some() {
            base.clone()
        } else {
            format!("{base}/script")
        };
        for (i, line) in attempt.script.lines().enumerate() {
            for local in crate::console::args::local_paths(line.trim().trim_start_matches('!')) {
                outside(files, &script, Some(i + 1), "a script line", &local, errors);
            }
        }
        for (file, bytes) in &attempt.files {
            key_sources(files, &format!("{base}/{file}"), bytes, errors);
        }
    }
}

/// The line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|at| text[..at].matches('\n').count() + 1)
}

fn outside(
    files: &PackFiles,
    file: &str,
    line: Option<usize>,
    what: &str,
    name: &str,
    errors: &mut Vec<PackError>,
) {
    if confine::relative(name).is_ok() {
        return;
    }
    errors.push(PackError::new(
        files.display(file),
        line,
        format!(
            "{what} names {:?}, which is outside the exercise's workspace",
            crate::sanitize::line(name)
        ),
        "use a path relative to the workspace, without '..' or a leading '/'",
    ));
}

/// A masking rules file's `[key] source = "file:…"` or `"kms:…"` outside the workspace.
fn key_sources(files: &PackFiles, file: &str, bytes: &[u8], errors: &mut Vec<PackError>) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    for (i, line) in text.lines().enumerate() {
        let Some(value) = line
            .trim()
            .strip_prefix("source")
            .map(|r| r.trim_start())
            .and_then(|r| r.strip_prefix('='))
            .map(|r| r.trim().trim_matches(['"', '\'']))
        else {
            continue;
        };
        if let Some(path) = value
            .strip_prefix("file:")
            .or_else(|| value.strip_prefix("kms:"))
        {
            outside(
                files,
                file,
                Some(i + 1),
                "a masking key source",
                path,
                errors,
            );
        }
    }
}

/// A control character (other than newline, tab and a CRLF's carriage return) or a
/// bidirectional override in any text file of the pack.
fn control_characters(files: &PackFiles, errors: &mut Vec<PackError>) {
    for path in files.paths() {
        let Some(Ok(text)) = files.bytes(path).map(std::str::from_utf8) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if crate::sanitize::needs_escaping(line) {
                errors.push(PackError::new(
                    files.display(path),
                    Some(i + 1),
                    format!(
                        "holds a control character or a bidirectional override: {}",
                        crate::sanitize::line(line)
                    ),
                    "remove it: pack text is shown as text, never as terminal escape sequences",
                ));
                break;
            }
        }
    }
}
