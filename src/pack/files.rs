//! The files of a content pack, read once into memory: the pack embedded in the binary (so the
//! lab runs offline after `cargo install`), a folder given with `--pack DIR`, or a `.tar.gz`
//! of one (`--pack pack.tar.gz`, as an instructor hands it out; read in memory, never
//! extracted). Everything above this module sees one uniform map from relative path to bytes,
//! and its SHA-256 ([`PackFiles::hash`]) names the exact content whatever the container.
//!
//! A pack comes from someone else, so reading one is bounded and literal: only regular files
//! are taken, and a symlink, hard link, device, FIFO or socket (in a folder or an archive) is
//! refused with its name, so a pack cannot smuggle a file of the learner's into a workspace or
//! into results evidence. An archive is read under a budget that counts every decompressed
//! byte (headers, GNU long names and PAX records included), its members and its path lengths.
//! Reading a pack runs nothing; what its steps and scripts do later is confined by
//! [`crate::confine`], and opening a pack that is not the built-in one asks for the learner's
//! trust first ([`super::trust`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::PackError;

static LESSONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/lessons");
static EXERCISES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/exercises");
static GRADERS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/graders");
static MANIFEST: &str = include_str!("../../pack.toml");

/// The most a pack may hold, in bytes: for an archive, everything it decompresses to.
pub const SIZE_LIMIT: u64 = 64 << 20;
/// The most members (files and folders) a pack may have.
pub const MEMBER_LIMIT: usize = 10_000;
/// The longest path a pack member may have, in bytes.
pub const PATH_LIMIT: usize = 512;

/// A reader that fails once more than `left` bytes were read through it.
struct Budget<R> {
    inner: R,
    left: u64,
}

impl<R: std::io::Read> std::io::Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "the archive decompresses to more than {} MiB (headers included): a pack is text and small files",
                SIZE_LIMIT >> 20
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

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
        let mut tally = Tally::default();
        for top in ["pack.toml", "lessons", "exercises", "graders"] {
            read_tree(dir, Path::new(top), &mut files, &mut tally)?;
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
        let mut tar = tar::Archive::new(Budget {
            inner: flate2::read::GzDecoder::new(file),
            left: SIZE_LIMIT,
        });
        let mut all = BTreeMap::new();
        let entries = tar
            .entries()
            .map_err(|e| bad(format!("not a .tar.gz: {e}")))?;
        for (count, entry) in entries.enumerate() {
            if count >= MEMBER_LIMIT {
                return Err(bad(format!(
                    "has more than {MEMBER_LIMIT} members: a pack is a few hundred files"
                )));
            }
            let mut entry = entry.map_err(|e| bad(format!("cannot be read: {e}")))?;
            let path = entry
                .path()
                .map_err(|e| bad(format!("a bad path in the archive: {e}")))?
                .into_owned();
            let shown_path = path.display().to_string();
            if shown_path.len() > PATH_LIMIT {
                return Err(bad(format!(
                    "a member's path is longer than {PATH_LIMIT} bytes ({}…)",
                    shown_path.chars().take(60).collect::<String>()
                )));
            }
            let kind = entry.header().entry_type();
            if kind.is_dir() || kind.is_pax_global_extensions() {
                continue;
            }
            if !kind.is_file() {
                return Err(bad(format!(
                    "{shown_path} is a {}: a pack holds regular files only",
                    member_kind(kind)
                )));
            }
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
            // Dotfiles (macOS `._name` resource forks and `.DS_Store`, editor files) are not
            // pack files: skipped, so they neither break the lint nor change the hash.
            if parts.iter().any(|p| p.starts_with('.')) {
                continue;
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes)
                .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
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
        self.hash_where(|_| true)
    }

    /// [`PackFiles::hash`] over the paths `keep` selects only.
    pub fn hash_where(&self, keep: impl Fn(&str) -> bool) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (path, bytes) in self.files.iter().filter(|(p, _)| keep(p)) {
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

/// What a tar member that is not a regular file is, for the refusal.
fn member_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hard link",
        tar::EntryType::Char | tar::EntryType::Block => "device",
        tar::EntryType::Fifo => "FIFO",
        _ => "special member",
    }
}

/// What a folder entry that is not a regular file or folder is, for the refusal.
fn file_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Some("symlink");
    }
    if kind.is_dir() {
        return None;
    }
    if !kind.is_file() {
        return Some("device, FIFO or socket");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return Some("hard link (a file with more than one name)");
        }
    }
    None
}

/// Counts what a folder pack has read so far against the limits.
#[derive(Default)]
struct Tally {
    members: usize,
    bytes: u64,
}

fn read_tree(
    root: &Path,
    rel: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
    tally: &mut Tally,
) -> Result<(), PackError> {
    let full = root.join(rel);
    let refuse =
        |message: String, fix: &str| PackError::new(full.display().to_string(), None, message, fix);
    let io = |e: std::io::Error| {
        refuse(
            format!("cannot read: {e}"),
            "check the path and its permissions",
        )
    };
    // Never follow a link: look at the entry itself.
    let meta = match std::fs::symlink_metadata(&full) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    if let Some(kind) = file_kind(&meta) {
        return Err(refuse(
            format!("is a {kind}: a pack holds regular files only"),
            "replace it with a copy of the file it stands for",
        ));
    }
    tally.members += 1;
    if tally.members > MEMBER_LIMIT {
        return Err(refuse(
            format!("the pack has more than {MEMBER_LIMIT} files and folders"),
            "a pack is a few hundred files: remove what is not content",
        ));
    }
    let key = rel.to_string_lossy().replace('\\', "/");
    if key.len() > PATH_LIMIT {
        return Err(refuse(
            format!("the path is longer than {PATH_LIMIT} bytes"),
            "use shorter names",
        ));
    }
    if meta.is_file() {
        tally.bytes += meta.len();
        if tally.bytes > SIZE_LIMIT {
            return Err(refuse(
                format!("the pack holds more than {} MiB", SIZE_LIMIT >> 20),
                "a pack is text and small files: remove large data and generate it in setup",
            ));
        }
        files.insert(key, std::fs::read(&full).map_err(io)?);
        return Ok(());
    }
    for entry in std::fs::read_dir(&full).map_err(io)? {
        let entry = entry.map_err(io)?;
        // Dotfiles (`.DS_Store`, `._name`, editor swap files) are not pack files.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        read_tree(root, &rel.join(entry.file_name()), files, tally)?;
    }
    Ok(())
}
