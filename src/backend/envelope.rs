//! The Amazon S3 Encryption Client's V2 message format, as keylab writes and reads it:
//! AES-256-GCM content under a data key from KMS `GenerateDataKey`, the wrapped key and the
//! encryption context in object metadata (`x-amz-key-v2`, `x-amz-iv`, `x-amz-cek-alg =
//! AES/GCM/NoPadding`, `x-amz-wrap-alg = kms+context`, `x-amz-matdesc`, `x-amz-tag-len = 128`),
//! the context carrying `aws:x-amz-cek-alg`. Newer clients write a later format with key
//! commitment and still read this one. The console's `crypto` commands and the grader's round
//! trip share it; keys live in `Zeroizing` buffers.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::client::{ClientError, kms_call, s3_error};
use super::sdk::ClientSettings;

/// The content-encryption algorithm of S3 Encryption Client v2.
pub const CEK_ALG: &str = "AES/GCM/NoPadding";

/// The envelope metadata of one encrypted body.
pub fn metadata(
    blob: &[u8],
    iv: &[u8],
    context: &BTreeMap<String, String>,
    len: usize,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("x-amz-key-v2".to_string(), STANDARD.encode(blob)),
        ("x-amz-iv".to_string(), STANDARD.encode(iv)),
        ("x-amz-cek-alg".to_string(), CEK_ALG.to_string()),
        ("x-amz-wrap-alg".to_string(), "kms+context".to_string()),
        (
            "x-amz-matdesc".to_string(),
            serde_json::to_string(context).expect("maps serialize"),
        ),
        ("x-amz-tag-len".to_string(), "128".to_string()),
        (
            "x-amz-unencrypted-content-length".to_string(),
            len.to_string(),
        ),
    ])
}

/// The plaintext data key of a KMS response (`Plaintext`, base64).
pub fn plaintext_key(out: &Value) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let text = out
        .get("Plaintext")
        .and_then(Value::as_str)
        .unwrap_or_default();
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| ClientError::Transport("KMS returned no data key".into()))
}

/// Encrypts `plaintext` under a 32-byte data key with a fresh 12-byte IV.
pub fn seal(key: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; 12]), ClientError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| {
        ClientError::Transport("the data key is not 32 bytes (use --key-spec AES_256)".into())
    })?;
    let mut iv = [0u8; 12];
    rand::rng().fill_bytes(&mut iv);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad: &[],
            },
        )
        .map_err(|_| ClientError::Transport("encryption failed".into()))?;
    Ok((ct, iv))
}

/// Opens a body given its metadata, asking KMS (as the context's identity) for the data key.
pub async fn open(
    settings: &ClientSettings,
    meta: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let field = |k: &str| {
        meta.get(k)
            .ok_or_else(|| ClientError::Transport(format!("the envelope metadata has no {k}: this was not encrypted client-side with kms+context")))
    };
    if field("x-amz-wrap-alg")? != "kms+context" || field("x-amz-cek-alg")? != CEK_ALG {
        return Err(ClientError::Transport(
            "only x-amz-wrap-alg kms+context with AES/GCM/NoPadding is supported".into(),
        ));
    }
    let context: BTreeMap<String, String> = serde_json::from_str(field("x-amz-matdesc")?)
        .map_err(|e| ClientError::Transport(format!("x-amz-matdesc is not a JSON map: {e}")))?;
    let iv = STANDARD
        .decode(field("x-amz-iv")?)
        .map_err(|_| ClientError::Transport("x-amz-iv is not base64".into()))?;
    if iv.len() != 12 {
        return Err(ClientError::Transport("x-amz-iv must be 12 bytes".into()));
    }
    let out = kms_call(
        settings,
        "Decrypt",
        json!({ "CiphertextBlob": field("x-amz-key-v2")?, "EncryptionContext": context }),
    )
    .await?;
    let key = plaintext_key(&out)?;
    let cipher = Aes256Gcm::new_from_slice(&key)
        .map_err(|_| ClientError::Transport("the data key is not 32 bytes".into()))?;
    cipher
        .decrypt(Nonce::from_slice(&iv), Payload { msg: body, aad: &[] })
        .map(Zeroizing::new)
        .map_err(|_| {
            ClientError::Transport("the ciphertext failed authentication: it was changed, or encrypted with another key".into())
        })
}

/// A blob file's bytes: raw, or base64 text (as `--output text --query CiphertextBlob`
/// writes it), or the JSON output of an operation that returns one.
pub fn blob_bytes(file: &[u8]) -> Vec<u8> {
    if let Ok(v) = serde_json::from_slice::<Value>(file)
        && let Some(b) = v.get("CiphertextBlob").and_then(Value::as_str)
        && let Ok(bytes) = STANDARD.decode(b)
    {
        return bytes;
    }
    if let Ok(text) = std::str::from_utf8(file)
        && let Ok(bytes) = STANDARD.decode(text.trim())
    {
        return bytes;
    }
    file.to_vec()
}

/// Downloads an object with its metadata.
pub async fn fetch(
    settings: &ClientSettings,
    bucket: &str,
    key: &str,
) -> Result<(BTreeMap<String, String>, Vec<u8>), ClientError> {
    let client =
        super::sdk::s3_client(settings).map_err(|e| ClientError::Transport(e.to_string()))?;
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| s3_error("GetObject", e))?;
    let meta: BTreeMap<String, String> = out
        .metadata()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| ClientError::Transport(format!("cannot read the object: {e}")))?
        .into_bytes()
        .to_vec();
    Ok((meta, body))
}
