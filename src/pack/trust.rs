//! A pack is code: its setup steps, solutions and wrong variants run console commands against
//! the lab backend and write files in the exercise's workspace (confined to it by
//! [`crate::confine`]), and its text reaches the learner's screen (sanitised). So a pack other
//! than the built-in one is run only once the learner has trusted it: keylab shows its name,
//! where it came from and its SHA-256, asks once, and remembers the answer per hash in
//! `trusted-packs.json` in the data directory (a changed pack is a new hash and is asked
//! about again). `--trust` answers yes without asking or remembering, for CI.
//!
//! This module keeps the record; asking is the front end's job.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Pack;
use super::files::PackFiles;

/// One pack the learner trusted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrustedPack {
    /// The pack's SHA-256 ([`Pack::hash`]).
    pub hash: String,
    /// Its name (`pack.toml`).
    pub name: String,
    /// Where it was opened from.
    pub source: String,
    /// When (RFC 3339).
    pub trusted_at: String,
}

/// The packs trusted so far, in a data directory.
#[derive(Debug)]
pub struct TrustStore {
    path: PathBuf,
    packs: Vec<TrustedPack>,
}

/// The file of the record.
pub const FILE: &str = "trusted-packs.json";

/// True for the pack built into this binary (whatever folder or archive it was read from).
pub fn is_builtin(pack: &Pack) -> bool {
    static EMBEDDED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    pack.hash() == *EMBEDDED.get_or_init(|| PackFiles::embedded().hash())
}

/// What the learner is asked to trust: the pack's name, title, source, hash and size, and what
/// running it means.
pub fn describe(pack: &Pack) -> String {
    format!(
        "The pack {name:?} ({title}) from {source}\n  sha256 {hash}\n  {lessons} lessons, {exercises} exercises\n\
         A pack is code: its setup steps and scripts run commands against your lab backend and\n\
         write files in each exercise's workspace. Open it only if you trust whoever made it.",
        name = crate::sanitize::line(&pack.manifest.name),
        title = crate::sanitize::line(&pack.manifest.title),
        source = crate::sanitize::line(&pack.files.origin),
        hash = pack.hash(),
        lessons = pack.lessons.len(),
        exercises = pack.exercises.len(),
    )
}

impl TrustStore {
    /// The record in `data_dir` (empty when there is none yet or it cannot be read).
    pub fn load(data_dir: &Path) -> TrustStore {
        let path = data_dir.join(FILE);
        let packs = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        TrustStore { path, packs }
    }

    /// Whether a pack of this hash was trusted.
    pub fn contains(&self, hash: &str) -> bool {
        self.packs.iter().any(|p| p.hash == hash)
    }

    /// Records that the learner trusts `pack`, durably.
    pub fn remember(&mut self, pack: &Pack) -> std::io::Result<()> {
        let hash = pack.hash();
        if self.contains(&hash) {
            return Ok(());
        }
        self.packs.push(TrustedPack {
            hash,
            name: pack.manifest.name.clone(),
            source: pack.files.origin.clone(),
            trusted_at: chrono::Utc::now().to_rfc3339(),
        });
        if let Some(dir) = self.path.parent() {
            crate::confine::private_dir(dir)?;
        }
        let json = serde_json::to_vec_pretty(&self.packs).map_err(std::io::Error::other)?;
        keylab_engine::fsutil::write_atomic(&self.path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_pack_needs_no_trust_and_others_are_remembered_by_hash() {
        let builtin = Pack::embedded().unwrap();
        assert!(is_builtin(&builtin));
        let dir = tempfile::tempdir().unwrap();
        let scaffold = dir.path().join("pack");
        crate::pack::scaffold::create(&scaffold, "other-pack").unwrap();
        let other = Pack::open(Some(&scaffold)).unwrap();
        assert!(!is_builtin(&other));
        let data = dir.path().join("data");
        let mut store = TrustStore::load(&data);
        assert!(!store.contains(&other.hash()));
        store.remember(&other).unwrap();
        assert!(TrustStore::load(&data).contains(&other.hash()));
        assert!(describe(&other).contains(&other.hash()));
    }
}
