//! The engine's state directory: documents saved atomically and encrypted at rest.
//!
//! Each document is serialised to JSON and sealed with AES-256-GCM under a 256-bit master key
//! kept in `master.key` (mode 0600) beside it, so key material, secrets and object bodies never
//! sit in plain text on disk and a grep of the directory finds no plaintext. This protects
//! against accidental disclosure, not against someone who can read `master.key`.

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

/// An open state directory.
pub struct StateStore {
    dir: PathBuf,
    key: Zeroizing<[u8; 32]>,
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
        Ok(StateStore {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.state"))
    }

    /// Loads a document, or `None` when it was never saved.
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        let path = self.path(name);
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

    /// Saves a document atomically.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StateError> {
        let path = self.path(name);
        let plain = Zeroizing::new(serde_json::to_vec(value).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            reason: format!("cannot serialise: {e}"),
        })?);
        let sealed = self.seal(name, &plain);
        write_atomic(&path, &sealed).map_err(|source| StateError::Io { path, source })
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

const LOCK_FILE: &str = ".lock";

/// Takes the exclusive lock that marks a state directory as in use by one engine. The lock is
/// released when the returned file is dropped (or the process ends).
pub fn lock(dir: &Path) -> Result<fs::File, StateError> {
    fs::create_dir_all(dir).map_err(|source| StateError::Io {
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
        let raw = fs::read(dir.path().join("doc.state")).unwrap();
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
    fn a_damaged_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        fs::write(dir.path().join("doc.state"), b"garbage").unwrap();
        let err = store.load::<Vec<String>>("doc").unwrap_err().to_string();
        assert!(
            err.contains("doc.state") && err.contains("keylab engine reset"),
            "{err}"
        );
    }
}
