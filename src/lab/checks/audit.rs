//! Counts the calls of an operation (successful or failed, by a profile, with an encryption
//! context) in the backend's CloudTrail event history and compares with the bounds. It asks
//! `LookupEvents` as the owner account's admin, as an auditor would on AWS (the built-in engine
//! answers from its audit log; a backend without CloudTrail makes the check not applicable),
//! and reads each event's `CloudTrailEvent` record: `userIdentity.accessKeyId`,
//! `requestParameters.encryptionContext` and `errorCode`.

use super::*;

/// The identity that reads the event history.
const AUDITOR: &str = "owner-admin";

pub(super) async fn run(session: &Session, c: &AuditCheck) -> Result<(), Failure> {
    let access_key = match &c.profile {
        Some(p) => Some(
            session
                .backend
                .profile(p)
                .map_err(broken)?
                .access_key_id
                .clone(),
        ),
        None => None,
    };
    let context: BTreeMap<String, String> = c
        .context
        .iter()
        .map(|(k, v)| Ok((k.clone(), sub(session, v)?)))
        .collect::<Result<_, Failure>>()?;
    let settings = session.backend.settings(AUDITOR, false).map_err(broken)?;
    let request = serde_json::json!({
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": c.operation}],
    });
    let events = crate::backend::client::lookup_events(&settings, request)
        .await
        .map_err(|e| broken(format!("cloudtrail lookup-events as {AUDITOR}: {e}")))?;
    let count = events
        .iter()
        .filter_map(|e| e.get("CloudTrailEvent").and_then(serde_json::Value::as_str))
        .filter_map(|record| serde_json::from_str::<serde_json::Value>(record).ok())
        .filter(|r| r["eventName"] == c.operation.as_str())
        .filter(|r| r["errorCode"].is_null() != c.failed)
        .filter(|r| {
            access_key
                .as_ref()
                .is_none_or(|k| r["userIdentity"]["accessKeyId"] == k.as_str())
        })
        .filter(|r| {
            context
                .iter()
                .all(|(k, v)| r["requestParameters"]["encryptionContext"][k] == v.as_str())
        })
        .count() as u32;
    let at_least = c
        .at_least
        .unwrap_or(if c.at_most.is_some() { 0 } else { 1 });
    let what = format!(
        "{} {}{} call{}",
        if c.failed { "failed" } else { "successful" },
        c.operation,
        if context.is_empty() {
            String::new()
        } else {
            format!(
                " with encryption context {}",
                serde_json::to_string(&context).unwrap_or_default()
            )
        },
        if count == 1 { "" } else { "s" }
    );
    if count < at_least {
        return Err(fail(format!(
            "CloudTrail's event history has {count} {what}; expected at least {at_least}"
        )));
    }
    if let Some(most) = c.at_most
        && count > most
    {
        return Err(fail(format!(
            "CloudTrail's event history has {count} {what}; expected at most {most}"
        )));
    }
    Ok(())
}
