//! Counts the engine's audit events of an operation (successful or failed, by a profile,
//! with an encryption context) and compares with the bounds.

use super::*;

pub(super) async fn run(session: &Session, c: &AuditCheck) -> Result<(), Failure> {
    let engine = session
        .backend
        .engine
        .as_ref()
        .ok_or_else(|| broken("audit checks need the built-in engine"))?;
    if let Some(p) = &c.profile {
        session.backend.profile(p).map_err(broken)?;
    }
    let context: BTreeMap<String, String> = c
        .context
        .iter()
        .map(|(k, v)| Ok((k.clone(), sub(session, v)?)))
        .collect::<Result<_, Failure>>()?;
    let count = engine
        .audit()
        .events()
        .iter()
        .filter(|e| e.event_name == c.operation)
        .filter(|e| e.error_code.is_some() == c.failed)
        .filter(|e| {
            c.profile
                .as_ref()
                .is_none_or(|p| e.user_identity.as_ref().is_some_and(|u| &u.profile == p))
        })
        .filter(|e| {
            context
                .iter()
                .all(|(k, v)| e.encryption_context.as_ref().and_then(|c| c.get(k)) == Some(v))
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
            "the audit log has {count} {what}; expected at least {at_least}"
        )));
    }
    if let Some(most) = c.at_most
        && count > most
    {
        return Err(fail(format!(
            "the audit log has {count} {what}; expected at most {most}"
        )));
    }
    Ok(())
}
