//! The engine's state directory: records in an embedded transactional store, encrypted at rest.
//!
//! State lives in `state.redb`, one table per kind of record (KMS keys, aliases, buckets,
//! objects, uploads, small documents), so a write costs the records it changes, not the whole
//! state, and is durable and atomic when [`StateStore::commit`] returns: a crash leaves the
//! state before or after, never between. `redb` is chosen as a pure-Rust, ACID,
//! copy-on-write B-tree store with crash safety by default and no C dependency (SQLite would
//! bring one; sled is unmaintained). Each value is serialised to JSON and sealed with
//! AES-256-GCM under a 256-bit master key kept in `master.key` (mode 0600), bound to its table
//! and key, so key material and secrets never sit in plain text on disk. This protects against
//! accidental disclosure, not against someone who can read `master.key`.
//!
//! State directories written before the store (one sealed `<name>.state` document each) are
//! read once and moved into it ([`StateStore::legacy`]); files a crash left half-written
//! (`.*.tmp`) are removed when the directory is opened.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::fsutil::write_atomic;

/// A state-directory failure, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another engine holds the directory.
    #[error(
        "{path} is in use by another running keylab engine: stop it first, or pass another --state-dir"
    )]
    Busy {
        /// The directory.
        path: PathBuf,
    },
    /// A file exists but cannot be decrypted or parsed.
    #[error(
        "{path}: {reason}. The state directory is damaged or was written by another keylab; run `keylab engine reset` to start afresh."
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

const MAGIC: &[u8; 4] = b"KLS1";

/// One change of a [`StateStore::commit`]: a record written (its JSON) or removed.
#[derive(Debug)]
pub struct Change {
    /// The table.
    pub table: &'static str,
    /// The record's key.
    pub key: String,
    /// The record's JSON (zeroised when dropped: records hold key material), or `None` to
    /// remove it.
    pub value: Option<Zeroizing<Vec<u8>>>,
}

impl Change {
    /// Writes `value` under `key`.
    pub fn put<T: Serialize>(table: &'static str, key: impl Into<String>, value: &T) -> Change {
        Change {
            table,
            key: key.into(),
            value: Some(Zeroizing::new(
                serde_json::to_vec(value).expect("state records serialise"),
            )),
        }
    }

    /// Removes `key`.
    pub fn delete(table: &'static str, key: impl Into<String>) -> Change {
        Change {
            table,
            key: key.into(),
            value: None,
        }
    }
}

/// The table of small documents ([`StateStore::load`], [`StateStore::save`]).
const DOCS: &str = "docs";

/// The file of the store.
pub const DATABASE: &str = "state.redb";

/// redb's page cache.
const CACHE_BYTES: usize = 8 << 20;

fn definition(table: &str) -> redb::TableDefinition<'_, &'static str, &'static [u8]> {
    redb::TableDefinition::new(table)
}

/// An open state directory.
pub struct StateStore {
    dir: PathBuf,
    key: Zeroizing<[u8; 32]>,
    db: redb::Database,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl StateStore {
    /// Opens (creating if needed) a state directory and its master key.
    pub fn open(dir: &Path) -> Result<StateStore, StateError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
        let key_path = dir.join("master.key");
        let mut key = Zeroizing::new([0u8; 32]);
        match fs::read(&key_path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                if bytes.len() != 32 {
                    return Err(StateError::Corrupt {
                        path: key_path,
                        reason: "the master key is not 32 bytes".into(),
                    });
                }
                key.copy_from_slice(&bytes);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                rand::rng().fill_bytes(key.as_mut());
                write_atomic(&key_path, key.as_ref()).map_err(io_err(&key_path))?;
            }
            Err(e) => {
                return Err(StateError::Io {
                    path: key_path,
                    source: e,
                });
            }
        }
        remove_temporaries(dir);
        let path = dir.join(DATABASE);
        // A small page cache: every record is read once at start, so the cache only serves
        // writes (redb's default of 1 GiB would let a large state keep that much resident).
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| StateError::Corrupt {
                path: path.clone(),
                reason: format!("the state store cannot be opened: {e}"),
            })?;
        owner_only(&path);
        Ok(StateStore {
            dir: dir.to_path_buf(),
            key,
            db,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn store_error(&self, e: impl std::fmt::Display) -> StateError {
        StateError::Corrupt {
            path: self.dir.join(DATABASE),
            reason: e.to_string(),
        }
    }

    /// Writes every change in one durable transaction.
    pub fn commit(&self, changes: &[Change]) -> Result<(), StateError> {
        if changes.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(|e| self.store_error(e))?;
        for change in changes {
            let mut table = txn
                .open_table(definition(change.table))
                .map_err(|e| self.store_error(e))?;
            let label = format!("{}/{}", change.table, change.key);
            match &change.value {
                Some(json) => {
                    let sealed = self.seal(&label, json);
                    table
                        .insert(change.key.as_str(), sealed.as_slice())
                        .map_err(|e| self.store_error(e))?;
                }
                None => {
                    table
                        .remove(change.key.as_str())
                        .map_err(|e| self.store_error(e))?;
                }
            }
        }
        txn.commit().map_err(|e| self.store_error(e))
    }

    /// Every record of a table, by key.
    pub fn load_table<T: DeserializeOwned>(
        &self,
        table: &'static str,
    ) -> Result<std::collections::BTreeMap<String, T>, StateError> {
        use redb::{ReadableDatabase, ReadableTable};
        let txn = self.db.begin_read().map_err(|e| self.store_error(e))?;
        let table_handle = match txn.open_table(definition(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Default::default()),
            Err(e) => return Err(self.store_error(e)),
        };
        let mut out = std::collections::BTreeMap::new();
        for entry in table_handle.iter().map_err(|e| self.store_error(e))? {
            let (key, sealed) = entry.map_err(|e| self.store_error(e))?;
            let key = key.value().to_string();
            let label = format!("{table}/{key}");
            let plain = self.open_sealed(&label, sealed.value()).ok_or_else(|| {
                self.store_error(format!(
                    "record {label} cannot be decrypted with this directory's master key"
                ))
            })?;
            let value = serde_json::from_slice(&plain)
                .map_err(|e| self.store_error(format!("record {label} does not parse: {e}")))?;
            out.insert(key, value);
        }
        Ok(out)
    }

    /// Loads a small document, or `None` when it was never saved.
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        let value = match self.legacy::<serde_json::Value>(name)? {
            Some(old) => {
                self.save(name, &old)?;
                self.forget_legacy(name);
                old
            }
            None => match self.load_table::<serde_json::Value>(DOCS)?.remove(name) {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| self.store_error(format!("document {name} does not parse: {e}")))
    }

    /// Saves a small document durably.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StateError> {
        self.commit(&[Change::put(DOCS, name, value)])
    }

    fn legacy_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.state"))
    }

    /// A whole document as engines before the store saved it (`<name>.state`), to move into
    /// the store; `None` when there is none.
    pub fn legacy<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        let path = self.legacy_path(name);
        let sealed = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Io { path, source }),
        };
        let plain = self
            .open_sealed(name, &sealed)
            .ok_or_else(|| StateError::Corrupt {
                path: path.clone(),
                reason: "the file cannot be decrypted with this directory's master key".into(),
            })?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path,
                reason: format!("the document does not parse: {e}"),
            })
    }

    /// Removes a legacy document once its content is in the store.
    pub fn forget_legacy(&self, name: &str) {
        let _ = fs::remove_file(self.legacy_path(name));
    }

    /// Encrypts bytes under the master key, bound to `label`.
    pub fn seal(&self, label: &str, plain: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new_from_slice(self.key.as_ref()).expect("32-byte key");
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: label.as_bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(4 + 12 + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts what [`StateStore::seal`] produced with the same label.
    pub fn open_sealed(&self, label: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 4 + 12 + 16 || &sealed[..4] != MAGIC {
            return None;
        }
        let cipher = Aes256Gcm::new_from_slice(self.key.as_ref()).ok()?;
        cipher
            .decrypt(
                Nonce::from_slice(&sealed[4..16]),
                Payload {
                    msg: &sealed[16..],
                    aad: label.as_bytes(),
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

/// Makes a file readable and writable by its owner only.
pub fn owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
}

/// Removes what a crash can leave half-written in a state directory: `write_atomic`'s
/// temporaries (`.<name>.<pid>.<n>.tmp`).
fn remove_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

const LOCK_FILE: &str = ".lock";

/// Takes the exclusive lock that marks a state directory as in use by one engine. The lock is
/// released when the returned file is dropped (or the process ends).
pub fn lock(dir: &Path) -> Result<fs::File, StateError> {
    crate::fsutil::create_private_dir(dir).map_err(|source| StateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StateError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(StateError::Busy {
            path: dir.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(source)) => Err(StateError::Io { path, source }),
    }
}

/// Deletes everything in a state directory (`keylab engine reset`), keeping the directory.
/// Refuses while an engine is using it.
pub fn reset(dir: &Path) -> Result<(), StateError> {
    if !dir.exists() {
        return Ok(());
    }
    let _lock = lock(dir)?;
    let io_err = |source| StateError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        if path.file_name().is_some_and(|n| n == LOCK_FILE) {
            continue;
        }
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(|source| StateError::Io { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        store
            .save("doc", &vec!["top-secret-value".to_string()])
            .unwrap();
        drop(store);
        let raw = fs::read(dir.path().join(DATABASE)).unwrap();
        assert!(!raw.windows(16).any(|w| w == b"top-secret-value"));
        let again = StateStore::open(dir.path()).unwrap();
        let back: Vec<String> = again.load("doc").unwrap().unwrap();
        assert_eq!(back, vec!["top-secret-value".to_string()]);
        assert!(again.load::<Vec<String>>("missing").unwrap().is_none());
    }

    #[test]
    fn a_locked_directory_cannot_be_reset_or_shared() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        assert!(matches!(lock(dir.path()), Err(StateError::Busy { .. })));
        assert!(matches!(reset(dir.path()), Err(StateError::Busy { .. })));
        drop(held);
        reset(dir.path()).unwrap();
    }

    #[test]
    fn a_damaged_legacy_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        fs::write(dir.path().join("doc.state"), b"garbage").unwrap();
        let err = store.load::<Vec<String>>("doc").unwrap_err().to_string();
        assert!(
            err.contains("doc.state") && err.contains("keylab engine reset"),
            "{err}"
        );
    }

    #[test]
    fn a_legacy_document_moves_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let sealed = store.seal("doc", br#"["old"]"#);
        fs::write(dir.path().join("doc.state"), sealed).unwrap();
        let back: Vec<String> = store.load("doc").unwrap().unwrap();
        assert_eq!(back, vec!["old".to_string()]);
        assert!(!dir.path().join("doc.state").exists());
        let again: Vec<String> = store.load("doc").unwrap().unwrap();
        assert_eq!(again, back);
    }

    #[test]
    fn records_commit_together_and_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".kms.state.123.0.tmp"), b"half").unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        assert!(!dir.path().join(".kms.state.123.0.tmp").exists());
        store
            .commit(&[Change::put("t", "a", &1), Change::put("t", "b", &2)])
            .unwrap();
        store.commit(&[Change::delete("t", "a")]).unwrap();
        let t: std::collections::BTreeMap<String, i32> = store.load_table("t").unwrap();
        assert_eq!(
            t.into_iter().collect::<Vec<_>>(),
            vec![("b".to_string(), 2)]
        );
    }
}
