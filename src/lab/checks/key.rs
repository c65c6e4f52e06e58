//! A KMS key's state, automatic rotation and its period, read with DescribeKey and
//! GetKeyRotationStatus.

use super::*;

pub(super) async fn run(session: &Session, c: &KeyCheck) -> Result<(), Failure> {
    let settings = settings_as(session, c.profile.as_deref())?;
    let key = sub(session, &c.key)?;
    let out = kms_call(&settings, "DescribeKey", json!({ "KeyId": key })).await?;
    let state = out
        .pointer("/KeyMetadata/KeyState")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some(want) = &c.state
        && want != state
    {
        return Err(fail(format!("key {key} is {state}, not {want}")));
    }
    if c.rotation.is_some() || c.rotation_days.is_some() {
        // GetKeyRotationStatus takes a key id or ARN, not an alias.
        let arn = out
            .pointer("/KeyMetadata/Arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let r = kms_call(&settings, "GetKeyRotationStatus", json!({ "KeyId": arn })).await?;
        let on = r
            .get("KeyRotationEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(want) = c.rotation
            && want != on
        {
            return Err(fail(format!(
                "automatic rotation of {key} is {}",
                if on { "on" } else { "off" }
            )));
        }
        let days = r.get("RotationPeriodInDays").and_then(Value::as_u64);
        if let Some(want) = c.rotation_days
            && days != Some(u64::from(want))
        {
            return Err(fail(format!(
                "the rotation period of {key} is {} days, not {want}",
                days.map_or("unset".to_string(), |d| d.to_string())
            )));
        }
    }
    Ok(())
}
