//! The engine's ciphertext blob. AWS's own format is not public; ours carries what AWS's
//! observably carries: the full key ARN (so Decrypt needs no KeyId, also across accounts) and
//! the key-material id (so old ciphertexts decrypt after rotation), sealed with AES-256-GCM.
//!
//! Layout: `"KLK1" | u16 ARN length | ARN | 32-byte material id | 12-byte nonce | ciphertext |
//! 16-byte tag`. The AAD is the header (everything before the nonce) followed by the
//! encryption context, length-prefixed and sorted, so `{"ab":"c"}` and `{"a":"bc"}` differ
//! and an empty context equals an absent one.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

// Nonces come from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS): random
// 96-bit GCM nonces need unpredictability and uniqueness, not a system call per message.
use zeroize::Zeroizing;

use super::types::EncryptionContext;

const MAGIC: &[u8; 4] = b"KLK1";

/// Largest ciphertext blob KMS accepts.
pub const MAX_BLOB: usize = 6144;

/// The readable header of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    /// The key ARN.
    pub key_arn: String,
    /// The key-material id (64 hex characters).
    pub material_id: String,
}

/// Serialises an encryption context for use as AAD.
pub(crate) fn context_aad(context: Option<&EncryptionContext>) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(context) = context else {
        out.extend_from_slice(&0u32.to_be_bytes());
        return out;
    };
    out.extend_from_slice(&(context.len() as u32).to_be_bytes());
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Encrypts `plaintext` under `material`.
pub(crate) fn seal(
    key_arn: &str,
    material_id: &str,
    material: &[u8; 32],
    plaintext: &[u8],
    context: Option<&EncryptionContext>,
) -> Vec<u8> {
    let mut blob = Vec::with_capacity(4 + 2 + key_arn.len() + 32 + 12 + plaintext.len() + 16);
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&(key_arn.len() as u16).to_be_bytes());
    blob.extend_from_slice(key_arn.as_bytes());
    let mut id = [0u8; 32];
    let _ = hex::decode_to_slice(material_id, &mut id);
    blob.extend_from_slice(&id);
    let mut aad = blob.clone();
    aad.extend_from_slice(&context_aad(context));
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new_from_slice(material).expect("32-byte key");
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ct);
    blob
}

/// Reads a blob's header; `None` when the bytes are not an engine ciphertext.
pub(crate) fn parse_header(blob: &[u8]) -> Option<(BlobHeader, usize)> {
    if blob.len() > MAX_BLOB || blob.len() < 6 || &blob[..4] != MAGIC {
        return None;
    }
    let arn_len = u16::from_be_bytes([blob[4], blob[5]]) as usize;
    let header_end = 6 + arn_len + 32;
    if blob.len() < header_end + 12 + 16 {
        return None;
    }
    let key_arn = std::str::from_utf8(&blob[6..6 + arn_len]).ok()?.to_string();
    let material_id = hex::encode(&blob[6 + arn_len..header_end]);
    Some((
        BlobHeader {
            key_arn,
            material_id,
        },
        header_end,
    ))
}

/// What a blob says of itself (the key and the key material that sealed it), for tools that
/// show a learner what a ciphertext carries; `None` when the bytes are not an engine blob.
pub fn inspect(blob: &[u8]) -> Option<BlobHeader> {
    parse_header(blob).map(|(header, _)| header)
}

/// Decrypts a blob with the material its header names; `None` when authentication fails
/// (wrong context, corrupted bytes, wrong key).
pub(crate) fn open(
    blob: &[u8],
    header_end: usize,
    material: &[u8; 32],
    context: Option<&EncryptionContext>,
) -> Option<Zeroizing<Vec<u8>>> {
    let mut aad = blob[..header_end].to_vec();
    aad.extend_from_slice(&context_aad(context));
    let nonce = &blob[header_end..header_end + 12];
    let cipher = Aes256Gcm::new_from_slice(material).ok()?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: &blob[header_end + 12..],
                aad: &aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn round_trip_and_context_binding() {
        let material = [7u8; 32];
        let id = "ab".repeat(32);
        let c = ctx(&[("ab", "c")]);
        let blob = seal(ARN, &id, &material, b"hello", Some(&c));
        let (header, end) = parse_header(&blob).unwrap();
        assert_eq!(header.key_arn, ARN);
        assert_eq!(header.material_id, id);
        assert_eq!(
            open(&blob, end, &material, Some(&c)).unwrap().as_slice(),
            b"hello"
        );
        assert!(open(&blob, end, &material, Some(&ctx(&[("a", "bc")]))).is_none());
        assert!(open(&blob, end, &material, None).is_none());
        assert!(open(&blob, end, &material, Some(&ctx(&[("AB", "c")]))).is_none());
    }

    #[test]
    fn empty_context_equals_absent_context() {
        let material = [1u8; 32];
        let id = "00".repeat(32);
        let blob = seal(ARN, &id, &material, b"x", Some(&EncryptionContext::new()));
        let (_, end) = parse_header(&blob).unwrap();
        assert!(open(&blob, end, &material, None).is_some());
    }

    #[test]
    fn garbage_is_not_a_blob() {
        assert!(parse_header(b"").is_none());
        assert!(parse_header(b"KLK1\xff\xff").is_none());
        let mut blob = seal(ARN, &"00".repeat(32), &[1u8; 32], b"x", None);
        let last = blob.len() - 1;
        blob[last] ^= 1;
        let (_, end) = parse_header(&blob).unwrap();
        assert!(open(&blob, end, &[1u8; 32], None).is_none());
    }
}
