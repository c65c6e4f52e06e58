//! The files of a content pack, read once into memory: the pack embedded in the binary (so the
//! lab runs offline after `cargo install`), a folder given with `--pack DIR`, or a `.tar.gz`
//! of one (`--pack pack.tar.gz`, as an instructor hands it out; read in memory, never
//! extracted, so a path that climbs out of the archive cannot write anywhere). Everything
//! above this module sees one uniform map from relative path to bytes, and its SHA-256
//! ([`PackFiles::hash`]) names the exact content whatever the container.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::PackError;

static LESSONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/lessons");
static EXERCISES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/exercises");
static GRADERS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/graders");
static MANIFEST: &str = include_str!("../../pack.toml");

/// The most a `.tar.gz` pack may unpack to, in bytes.
const ARCHIVE_LIMIT: u64 = 256 << 20;

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

    /// A packed pack: a `.tar.gz` holding `pack.toml`, `lessons/`, `exercises/` and
    /// `graders/`, at its top or in one folder.
    pub fn from_archive(archive: &Path) -> Result<PackFiles, PackError> {
        let shown = archive.display().to_string();
        let bad = |message: String| {
            PackError::new(
                &shown,
                None,
                message,
                "make it with: tar czf pack.tar.gz -C PACK_DIR pack.toml lessons exercises graders",
            )
        };
        let file = std::fs::File::open(archive).map_err(|e| bad(format!("cannot read: {e}")))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut all = BTreeMap::new();
        let mut total = 0u64;
        let entries = tar
            .entries()
            .map_err(|e| bad(format!("not a .tar.gz: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("not a .tar.gz: {e}")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| bad(format!("a bad path in the archive: {e}")))?
                .into_owned();
            let mut parts = Vec::new();
            for c in path.components() {
                match c {
                    std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                    std::path::Component::CurDir => {}
                    _ => {
                        return Err(bad(format!(
                            "{} leaves the archive's folder",
                            path.display()
                        )));
                    }
                }
            }
            // macOS tar adds `._name` resource forks; they are not pack files.
            if parts.last().is_some_and(|p| p.starts_with("._")) {
                continue;
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(&mut entry, ARCHIVE_LIMIT - total + 1),
                &mut bytes,
            )
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
            total += bytes.len() as u64;
            if total > ARCHIVE_LIMIT {
                return Err(bad(format!(
                    "unpacks to more than {} MiB: a pack is text and small files",
                    ARCHIVE_LIMIT >> 20
                )));
            }
            all.insert(parts.join("/"), bytes);
        }
        let prefix = if all.contains_key("pack.toml") {
            String::new()
        } else {
            let top: Vec<&String> = all
                .keys()
                .filter(|k| k.ends_with("/pack.toml") && k.matches('/').count() == 1)
                .collect();
            match top.as_slice() {
                [one] => one.trim_end_matches("pack.toml").to_string(),
                _ => {
                    return Err(bad(
                        "no pack.toml at the top of the archive or in one folder".into(),
                    ));
                }
            }
        };
        let files = all
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v)))
            .filter(|(k, _)| {
                k == "pack.toml"
                    || ["lessons/", "exercises/", "graders/"]
                        .iter()
                        .any(|top| k.starts_with(top))
            })
            .collect();
        Ok(PackFiles {
            origin: shown,
            dir: None,
            files,
        })
    }

    /// The SHA-256 of the pack's content (every path and its bytes, in order), in hex: the
    /// same for a folder, its archive or the embedded copy of the same files.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (path, bytes) in &self.files {
            h.update((path.len() as u64).to_be_bytes());
            h.update(path.as_bytes());
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        hex::encode(h.finalize())
    }

    /// Every path, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
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
