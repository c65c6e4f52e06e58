//! The files of a content pack, read once into memory: the pack embedded in the binary (so the
//! lab runs offline after `cargo install`) or a folder given with `--pack DIR`. Everything
//! above this module sees one uniform map from relative path to bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::PackError;

static LESSONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/lessons");
static EXERCISES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/exercises");
static GRADERS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/graders");
static MANIFEST: &str = include_str!("../../pack.toml");

/// The pack's files by relative path (`/`-separated).
#[derive(Debug, Clone)]
pub struct PackFiles {
    /// Where the files came from, for messages (`<embedded>` or the folder).
    pub origin: String,
    /// The folder, when the pack was loaded from disk.
    pub dir: Option<PathBuf>,
    files: BTreeMap<String, Vec<u8>>,
}

fn add_dir(files: &mut BTreeMap<String, Vec<u8>>, prefix: &str, dir: &Dir<'_>) {
    for file in dir.files() {
        let path = format!(
            "{prefix}/{}",
            file.path().to_string_lossy().replace('\\', "/")
        );
        files.insert(path, file.contents().to_vec());
    }
    for sub in dir.dirs() {
        add_dir(files, prefix, sub);
    }
}

impl PackFiles {
    /// The pack built into the binary.
    pub fn embedded() -> PackFiles {
        let mut files = BTreeMap::new();
        files.insert("pack.toml".to_string(), MANIFEST.as_bytes().to_vec());
        add_dir(&mut files, "lessons", &LESSONS);
        add_dir(&mut files, "exercises", &EXERCISES);
        add_dir(&mut files, "graders", &GRADERS);
        PackFiles {
            origin: "<embedded pack>".into(),
            dir: None,
            files,
        }
    }

    /// A pack in a folder: `pack.toml`, `lessons/`, `exercises/`, `graders/`.
    pub fn from_dir(dir: &Path) -> Result<PackFiles, PackError> {
        if !dir.join("pack.toml").is_file() {
            return Err(PackError::new(
                dir.join("pack.toml").display().to_string(),
                None,
                "no pack.toml here",
                "point --pack at the folder that holds pack.toml, lessons/, exercises/ and graders/",
            ));
        }
        let mut files = BTreeMap::new();
        for top in ["pack.toml", "lessons", "exercises", "graders"] {
            read_tree(dir, Path::new(top), &mut files)?;
        }
        Ok(PackFiles {
            origin: dir.display().to_string(),
            dir: Some(dir.to_path_buf()),
            files,
        })
    }

    /// The display name of a pack file (its full path for a folder pack).
    pub fn display(&self, path: &str) -> String {
        match &self.dir {
            Some(d) => d.join(path).display().to_string(),
            None => path.to_string(),
        }
    }

    /// A file's bytes.
    pub fn bytes(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// A file as UTF-8 text, or an error naming it.
    pub fn text(&self, path: &str) -> Result<&str, PackError> {
        let bytes = self.bytes(path).ok_or_else(|| {
            PackError::new(self.display(path), None, "the file is missing", "create it")
        })?;
        std::str::from_utf8(bytes).map_err(|e| {
            PackError::new(
                self.display(path),
                None,
                format!("not UTF-8 text: {e}"),
                "save the file as UTF-8",
            )
        })
    }

    /// The paths under `prefix/` (recursively), in order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let start = format!("{prefix}/");
        self.files
            .keys()
            .filter(move |k| k.starts_with(&start))
            .map(String::as_str)
    }
}

fn read_tree(
    root: &Path,
    rel: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), PackError> {
    let full = root.join(rel);
    let io = |e: std::io::Error| {
        PackError::new(
            full.display().to_string(),
            None,
            format!("cannot read: {e}"),
            "check the path and its permissions",
        )
    };
    if !full.exists() {
        return Ok(());
    }
    if full.is_file() {
        let key = rel.to_string_lossy().replace('\\', "/");
        files.insert(key, std::fs::read(&full).map_err(io)?);
        return Ok(());
    }
    for entry in std::fs::read_dir(&full).map_err(io)? {
        let entry = entry.map_err(io)?;
        read_tree(root, &rel.join(entry.file_name()), files)?;
    }
    Ok(())
}
