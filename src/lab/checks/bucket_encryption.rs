//! A bucket's default encryption: the algorithm, the KMS key (compared by ARN whatever
//! form names it) and the bucket key.

use super::*;

pub(super) async fn run(session: &Session, c: &BucketEncryptionCheck) -> Result<(), Failure> {
    let settings = settings_as(session, c.profile.as_deref())?;
    let bucket = sub(session, &c.bucket)?;
    let client = s3_client(&settings).map_err(|e| broken(e.to_string()))?;
    let out = client
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .map_err(|e| Failure::from(s3_error("GetBucketEncryption", e)))?;
    let rule = out
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .ok_or_else(|| fail(format!("{bucket} has no encryption rule")))?;
    let by_default = rule.apply_server_side_encryption_by_default();
    let algorithm = by_default
        .map(|d| d.sse_algorithm().as_str().to_string())
        .unwrap_or_default();
    if let Some(want) = &c.algorithm
        && want != &algorithm
    {
        return Err(fail(format!(
            "{bucket} encrypts with {algorithm} by default, not {want}"
        )));
    }
    if let Some(want) = &c.kms_key {
        let want = key_arn(&settings, &sub(session, want)?).await?;
        let configured = by_default
            .and_then(|d| d.kms_master_key_id())
            .unwrap_or_default();
        if configured.is_empty() {
            return Err(fail(format!(
                "{bucket}'s default encryption names no KMS key (it would use aws/s3)"
            )));
        }
        let got = key_arn(&settings, configured).await?;
        if got != want {
            return Err(fail(format!("{bucket}'s default key is {got}, not {want}")));
        }
    }
    if let Some(want) = c.bucket_key {
        let got = rule.bucket_key_enabled().unwrap_or(false);
        if got != want {
            return Err(fail(format!(
                "{bucket}'s bucket key is {}",
                if got { "on" } else { "off" }
            )));
        }
    }
    Ok(())
}
