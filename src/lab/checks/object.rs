//! An object's encryption, KMS key and metadata, read with HeadObject (an SSE-C object
//! answers 400 without its key, which is what an SSE-C check expects).

use super::*;

pub(super) async fn run(session: &Session, c: &ObjectCheck) -> Result<(), Failure> {
    let settings = settings_as(session, c.profile.as_deref())?;
    let (bucket, key) = (sub(session, &c.bucket)?, sub(session, &c.key)?);
    let client = s3_client(&settings).map_err(|e| broken(e.to_string()))?;
    let head = client.head_object().bucket(&bucket).key(&key).send().await;
    let head = match head {
        Ok(h) => h,
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            if status == Some(400) && c.encryption.as_deref() == Some("SSE-C") {
                return Ok(());
            }
            return Err(match status {
                Some(404) => fail(format!("s3://{bucket}/{key} does not exist")),
                _ => Failure::from(s3_error("HeadObject", e)),
            });
        }
    };
    let sse = head
        .server_side_encryption()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if let Some(want) = &c.encryption
        && want != &sse
    {
        return Err(fail(format!(
            "s3://{bucket}/{key} is encrypted with {}, not {want}",
            if sse.is_empty() {
                "SSE-C or nothing"
            } else {
                &sse
            }
        )));
    }
    if let Some(want) = &c.kms_key {
        let want = key_arn(&settings, &sub(session, want)?).await?;
        let got = head.ssekms_key_id().unwrap_or_default();
        if got != want {
            return Err(fail(format!(
                "s3://{bucket}/{key} uses key {got}, not {want}"
            )));
        }
    }
    let metadata = head.metadata().cloned().unwrap_or_default();
    for (k, v) in &c.metadata {
        match metadata.get(k) {
            None => return Err(fail(format!("s3://{bucket}/{key} has no metadata {k}"))),
            Some(got) if v != "*" && got != &sub(session, v)? => {
                return Err(fail(format!(
                    "metadata {k} of s3://{bucket}/{key} is {got}"
                )));
            }
            Some(_) => {}
        }
    }
    for k in &c.no_metadata {
        if metadata.contains_key(k) {
            return Err(fail(format!(
                "s3://{bucket}/{key} must not have metadata {k}"
            )));
        }
    }
    Ok(())
}
