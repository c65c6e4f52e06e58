//! `keylab pack new DIR`: a new pack with one working exercise (instructions, hints, grader,
//! reference solution and two known-wrong variants), one lesson, two drill questions and a CI
//! workflow that runs `keylab verify --pack .`, so an author starts from something that passes.
//! The pack is the folder `src/pack/template`, embedded.

use std::path::Path;

/// The template pack, embedded: a real pack (with `{{name}}` and `{{version}}` to fill in) that
/// CI lints and verifies like any other.
static TEMPLATE: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/src/pack/template");

/// The files of a new pack named `name`, as (path, content): the template with its name and
/// this keylab's version filled in (exercise `{{variables}}` are left for the lab).
pub fn files(name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(&TEMPLATE, &mut out);
    for (_, text) in &mut out {
        *text = text
            .replace("{{name}}", name)
            .replace("{{version}}", env!("CARGO_PKG_VERSION"));
    }
    out.sort();
    out
}

fn collect(dir: &include_dir::Dir<'static>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        let text = file.contents_utf8().expect("the template is UTF-8");
        let path = file.path().to_string_lossy().replace('\\', "/");
        out.push((path, text.to_string()));
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

/// Writes a new pack into `dir`, which must not exist or be empty.
pub fn create(dir: &Path, name: &str) -> Result<usize, String> {
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(format!(
            "pack name {name:?}: use lower-case letters, digits and '-' (give one with --name)"
        ));
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} is not empty: give a new folder, so nothing of yours is overwritten",
            dir.display()
        ));
    }
    let files = files(name);
    for (path, text) in &files {
        keylab_engine::fsutil::write_atomic(&dir.join(path), text.as_bytes())
            .map_err(|e| format!("{}: {e}", dir.join(path).display()))?;
    }
    Ok(files.len())
}
