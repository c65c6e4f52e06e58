//! The learner's identity on this machine: an Ed25519 signing key made on first use and kept
//! in the data directory (mode 0600), which signs results files (`keylab submit`), and the
//! seed of the learner's progress, derived from the key's public half. Names and data of
//! every exercise come from the seed, so a results file whose seed is not its key's seed was
//! made from someone else's progress: `keylab class collect` rejects it.

use std::path::Path;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

/// The key file's name in a data directory.
pub const KEY_FILE: &str = "learner.key";

/// The learner's signing key: made on first use, kept at `path` (hex, mode 0600).
pub fn learner_key(path: &Path) -> Result<SigningKey, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
                format!(
                    "{}: not a keylab learner key; move it away to make a new one",
                    path.display()
                )
            })?);
            let secret: Zeroizing<[u8; 32]> =
                Zeroizing::new(bytes.as_slice().try_into().map_err(|_| {
                    format!(
                        "{}: a learner key is 32 bytes; move it away to make a new one",
                        path.display()
                    )
                })?);
            Ok(SigningKey::from_bytes(&secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = Zeroizing::new(rand::random::<[u8; 32]>());
            let key = SigningKey::from_bytes(&secret);
            let text = Zeroizing::new(hex::encode(secret.as_slice()));
            keylab_engine::fsutil::write_atomic(path, text.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// A short fingerprint of a public key (the first 16 hex digits of its SHA-256).
pub fn fingerprint(public_key_hex: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(public_key_hex.as_bytes()))[..16].to_string()
}

/// The progress seed a learner key gives (52 bits, as progress seeds are).
pub fn seed_for(public_key: &[u8; 32]) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"keylab progress seed v1")
        .chain_update(public_key)
        .finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 12
}

/// The seed for new progress in `dir`: from the learner key there (made if needed), or a
/// random one when the key cannot be kept.
pub fn seed_in(dir: &Path) -> u64 {
    let _ = crate::confine::private_dir(dir);
    match learner_key(&dir.join(KEY_FILE)) {
        Ok(key) => seed_for(&key.verifying_key().to_bytes()),
        Err(_) => rand::random::<u64>() >> 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gives_one_seed_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = seed_in(dir.path());
        assert_eq!(seed_in(dir.path()), first);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(seed_in(other.path()), first);
        assert!(first < 1 << 52);
    }
}
