//! A workspace file: exists (or not), is JSON, contains a text.

use super::*;

pub(super) async fn run(session: &Session, c: &FileCheck) -> Result<(), Failure> {
    let name = sub(session, &c.path)?;
    crate::confine::relative(&name).map_err(|e| fail(e.to_string()))?;
    let exists = crate::confine::exists(&session.workspace, &name);
    if let Some(want) = c.exists
        && want != exists
    {
        return Err(fail(if want {
            format!("{name} is not in the workspace")
        } else {
            format!("{name} must not be left in the workspace")
        }));
    }
    if !exists {
        return Ok(());
    }
    let bytes = crate::confine::read(&session.workspace, &name).map_err(|e| fail(e.to_string()))?;
    if c.json {
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| fail(format!("{name} is not valid JSON: {e}")))?;
    }
    if let Some(text) = &c.contains
        && !String::from_utf8_lossy(&bytes).contains(&sub(session, text)?)
    {
        // A text made of the exercise's names may be the answer itself (an id saved at setup):
        // it is not shown.
        return Err(fail(if text.contains("{{") {
            format!("{name} does not hold the expected value")
        } else {
            format!("{name} does not contain {text}")
        }));
    }
    Ok(())
}
