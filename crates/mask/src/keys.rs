//! The master key of a masking run and the sub-keys derived from it. The key comes from an
//! environment variable, a file, or a KMS ciphertext blob that the caller decrypts through the
//! active backend (this module does not talk to KMS: [`KeySource::Kms`] hands the blob back).
//! There is no default key: a rule that needs one and has none is an error. Every operation
//! and domain gets its own key, `HMAC-SHA-256(master, "keylab-mask/v1/" op "/" domain)`, so a
//! token of one column never equals a token of another unless the rules share the domain.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::MaskError;
use super::rules::KeySpec;

/// A master key: at least 256 bits, zeroised on drop, never printed.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({} bytes, redacted)", self.0.len())
    }
}

/// The smallest master key accepted.
pub const MIN_KEY_BYTES: usize = 32;

impl MasterKey {
    /// A key from raw bytes; fewer than 32 is an error.
    pub fn from_bytes(bytes: Vec<u8>, origin: &str) -> Result<MasterKey, MaskError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_KEY_BYTES {
            return Err(MaskError::Key(format!(
                "the key from {origin} has {} bytes; masking keys need at least {MIN_KEY_BYTES} (256 bits): make one with `aws kms generate-data-key --key-spec AES_256` or `openssl rand -hex 32`",
                bytes.len()
            )));
        }
        Ok(MasterKey(bytes))
    }

    /// A fresh random key (the grader's "another key" run).
    pub fn random() -> MasterKey {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        MasterKey(bytes)
    }

    /// The 32-byte sub-key of an operation and domain.
    pub fn derive(&self, op: &str, domain: &str) -> Zeroizing<[u8; 32]> {
        let mut mac =
            <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"keylab-mask/v1/");
        mac.update(op.as_bytes());
        mac.update(b"/");
        mac.update(domain.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

/// Where the key comes from, resolved against a base folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable holding hex or base64.
    Env(String),
    /// A file holding raw bytes, hex or base64.
    File(PathBuf),
    /// A file holding a KMS ciphertext blob (binary or base64), to be decrypted by the caller.
    Kms(PathBuf),
}

impl KeySource {
    /// The source named by `[key]`, with relative paths under `base`.
    pub fn from_spec(spec: &KeySpec, base: &Path) -> Result<KeySource, MaskError> {
        let source = spec.source.trim();
        if let Some(name) = source.strip_prefix("env:") {
            return Ok(KeySource::Env(name.to_string()));
        }
        if let Some(path) = source.strip_prefix("file:") {
            return Ok(KeySource::File(base.join(path)));
        }
        if let Some(path) = source.strip_prefix("kms:") {
            return Ok(KeySource::Kms(base.join(path)));
        }
        Err(MaskError::Key(format!(
            "[key] source \"{source}\" is not env:NAME, file:PATH or kms:PATH"
        )))
    }

    /// Loads an `env:` or `file:` key; a `kms:` source returns the ciphertext blob instead.
    pub fn load_local(&self) -> Result<Loaded, MaskError> {
        match self {
            KeySource::Env(name) => {
                let value = Zeroizing::new(std::env::var(name).map_err(|_| {
                    MaskError::Key(format!(
                        "the rules take the key from ${name}, which is not set: export {name}=<64 hex digits> (for example from `openssl rand -hex 32`)"
                    ))
                })?);
                let bytes = decode_text_key(value.trim())
                    .ok_or_else(|| MaskError::Key(format!("${name} is neither hex nor base64")))?;
                Ok(Loaded::Key(MasterKey::from_bytes(
                    bytes,
                    &format!("${name}"),
                )?))
            }
            KeySource::File(path) => {
                let raw = Zeroizing::new(read(path)?);
                let bytes = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|t| decode_text_key(t.trim()))
                    .unwrap_or_else(|| raw.to_vec());
                Ok(Loaded::Key(MasterKey::from_bytes(
                    bytes,
                    &path.display().to_string(),
                )?))
            }
            KeySource::Kms(path) => {
                let raw = read(path)?;
                let blob = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|t| STANDARD.decode(t.trim()).ok())
                    .unwrap_or(raw);
                Ok(Loaded::KmsBlob(blob))
            }
        }
    }
}

/// A loaded key, or a blob that KMS must decrypt first.
pub enum Loaded {
    /// The key.
    Key(MasterKey),
    /// A KMS ciphertext blob.
    KmsBlob(Vec<u8>),
}

fn read(path: &Path) -> Result<Vec<u8>, MaskError> {
    std::fs::read(path).map_err(|e| MaskError::Key(format!("cannot read {}: {e}", path.display())))
}

fn decode_text_key(text: &str) -> Option<Vec<u8>> {
    if text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(b) = hex::decode(text)
    {
        return Some(b);
    }
    STANDARD.decode(text).ok().or_else(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused_and_domains_separate() {
        assert!(MasterKey::from_bytes(vec![1; 16], "x").is_err());
        let k = MasterKey::from_bytes(vec![7; 32], "x").unwrap();
        assert_ne!(*k.derive("hmac_token", "a"), *k.derive("hmac_token", "b"));
        assert_ne!(*k.derive("fpe", "a"), *k.derive("hmac_token", "a"));
        assert!(!format!("{k:?}").contains("7"));
        assert_eq!(decode_text_key(&"ab".repeat(32)).unwrap().len(), 32);
    }
}
