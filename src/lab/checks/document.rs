//! A configuration document graded on its meaning: parsed, validated as the input of the
//! real API ([`crate::lab::document`]), then each `expect` tested by JSON pointer.

use super::*;
use crate::lab::document;

/// A configuration document: parsed, validated as the API's input, then each `expect` tested.
pub(super) async fn run(session: &Session, c: &DocumentCheck) -> Result<(), Failure> {
    let name = sub(session, &c.path)?;
    let bytes = crate::confine::read(&session.workspace, &name).map_err(|e| match e {
        crate::confine::ConfineError::Io { .. } => fail(format!("{name} is not in the workspace")),
        other => fail(other.to_string()),
    })?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
        fail(format!(
            "{name} is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let problems = document::validate(c.api, &doc);
    if !problems.is_empty() {
        return Err(fail(format!(
            "{name} is not valid input for {}: {}",
            document::api_name(c.api),
            problems.join("; ")
        )));
    }
    for e in &c.expect {
        let message = session
            .substitute(&e.fail)
            .unwrap_or_else(|_| e.fail.clone());
        let found = document::lookup(&doc, &e.pointer);
        if e.absent {
            if found.is_some() {
                return Err(fail(format!("{}: {} must not be set", message, e.pointer)));
            }
            continue;
        }
        let Some(found) = found else {
            return Err(fail(format!("{}: {} is not set", message, e.pointer)));
        };
        if let Some(want) = &e.equals
            && substituted(session, want)? != *found
        {
            return Err(fail(format!("{}: {} is {found}", message, e.pointer)));
        }
        if !e.one_of.is_empty() {
            let mut any = false;
            for want in &e.one_of {
                any |= substituted(session, want)? == *found;
            }
            if !any {
                return Err(fail(format!("{}: {} is {found}", message, e.pointer)));
            }
        }
        if let Some(key) = &e.names_key {
            let named = found
                .as_str()
                .ok_or_else(|| fail(format!("{}: {} is not a key name", message, e.pointer)))?;
            let settings = settings_as(session, None)?;
            let key = sub(session, key)?;
            let want = key_arn(&settings, &key).await?;
            let got = key_arn(&settings, named).await.map_err(|_| {
                fail(format!(
                    "{}: {} is {named}, which names no key in the lab",
                    message, e.pointer
                ))
            })?;
            if got != want {
                return Err(fail(format!(
                    "{}: {} names {got}, not the key {key}",
                    message, e.pointer
                )));
            }
        }
    }
    Ok(())
}

/// A JSON value from the grader with its `{{variables}}` filled in.
fn substituted(session: &Session, value: &Value) -> Result<Value, Failure> {
    Ok(match value {
        Value::String(s) => Value::String(sub(session, s)?),
        other => other.clone(),
    })
}
