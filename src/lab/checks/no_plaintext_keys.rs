//! No plaintext data key left in the workspace: a saved `generate-data-key` output with its
//! Plaintext field, or the bytes (raw or base64) of any wrapped key found there.

use super::*;

fn find_key(hay: &[u8], key: &[u8]) -> bool {
    let b64 = STANDARD.encode(key);
    hay.windows(key.len()).any(|w| w == key) || hay.windows(b64.len()).any(|w| w == b64.as_bytes())
}

pub(super) async fn run(session: &Session, c: &NoPlaintextKeysCheck) -> Result<(), Failure> {
    let settings = settings_as(
        session,
        Some(
            c.profile
                .as_deref()
                .unwrap_or(&session.exercise.spec.profile),
        ),
    )?;
    let files: Vec<(String, Vec<u8>)> = crate::confine::files(&session.workspace)
        .into_iter()
        .filter_map(|name| {
            let bytes = crate::confine::read(&session.workspace, &name).ok()?;
            Some((name, bytes))
        })
        .collect();
    let mut wrapped: Vec<(String, Value)> = Vec::new();
    for (name, bytes) in &files {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        if v.get("Plaintext").is_some() {
            return Err(fail(format!(
                "{name} holds a plaintext data key (the Plaintext field of generate-data-key): delete it once the data is encrypted"
            )));
        }
        if let Some(b) = v.get("CiphertextBlob").and_then(Value::as_str) {
            wrapped.push((name.clone(), json!({ "CiphertextBlob": b })));
        }
        if let (Some(b), Some(m)) = (
            v.get("x-amz-key-v2").and_then(Value::as_str),
            v.get("x-amz-matdesc").and_then(Value::as_str),
        ) {
            let context: Value = serde_json::from_str(m).unwrap_or(json!({}));
            wrapped.push((
                name.clone(),
                json!({ "CiphertextBlob": b, "EncryptionContext": context }),
            ));
        }
    }
    for (source, request) in wrapped {
        let Ok(out) = kms_call(&settings, "Decrypt", request).await else {
            continue;
        };
        let Some(key) = out
            .get("Plaintext")
            .and_then(Value::as_str)
            .and_then(|p| STANDARD.decode(p).ok())
        else {
            continue;
        };
        if let Some((name, _)) = files.iter().find(|(_, bytes)| find_key(bytes, &key)) {
            return Err(fail(format!(
                "{name} contains the plaintext of the data key wrapped in {source}: keep only the wrapped key"
            )));
        }
    }
    Ok(())
}
