//! Decrypts what the learner encrypted (a workspace file with or without its envelope
//! metadata, or an S3 object in the S3 Encryption Client's V2 format) and compares it with
//! the original.

use super::*;

pub(super) async fn run(session: &Session, c: &RoundTripCheck) -> Result<(), Failure> {
    let settings = settings_as(session, c.profile.as_deref())?;
    let encrypted = sub(session, &c.encrypted)?;
    let original = crate::confine::read(&session.workspace, &sub(session, &c.original)?)
        .map_err(|e| fail(e.to_string()))?;
    let plaintext = if let Some(url) = encrypted.strip_prefix("s3://") {
        let (bucket, key) = url.split_once('/').unwrap_or((url, ""));
        let (meta, body) = envelope::fetch(&settings, bucket, key).await?;
        envelope::open(&settings, &meta, &body)
            .await
            .map_err(|e| match e {
                ClientError::Transport(m) => {
                    fail(format!("{encrypted} is not a client-side envelope: {m}"))
                }
                aws => aws.into(),
            })?
            .to_vec()
    } else {
        let body = crate::confine::read(&session.workspace, &encrypted)
            .map_err(|e| fail(e.to_string()))?;
        match crate::confine::read(&session.workspace, &format!("{encrypted}.meta.json")) {
            Ok(meta) => {
                let meta: BTreeMap<String, String> =
                    serde_json::from_slice(&meta).map_err(|e| {
                        fail(format!(
                            "{encrypted}.meta.json is not envelope metadata: {e}"
                        ))
                    })?;
                envelope::open(&settings, &meta, &body).await?.to_vec()
            }
            Err(_) => {
                let blob = envelope::blob_bytes(&body);
                let out = kms_call(
                    &settings,
                    "Decrypt",
                    json!({ "CiphertextBlob": STANDARD.encode(blob) }),
                )
                .await?;
                STANDARD
                    .decode(
                        out.get("Plaintext")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    )
                    .map_err(|_| broken("Decrypt returned no plaintext"))?
            }
        }
    };
    if plaintext != original {
        return Err(fail(format!(
            "{encrypted} decrypts to something other than {}",
            c.original
        )));
    }
    Ok(())
}
