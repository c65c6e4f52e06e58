//! A workspace file: exists (or not), is JSON, contains a text.

use super::*;

pub(super) async fn run(session: &Session, c: &FileCheck) -> Result<(), Failure> {
    let name = sub(session, &c.path)?;
    let path = session.workspace.join(&name);
    let exists = path.is_file();
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
    let bytes = std::fs::read(&path).map_err(|e| fail(format!("{name}: {e}")))?;
    if c.json {
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| fail(format!("{name} is not valid JSON: {e}")))?;
    }
    if let Some(text) = &c.contains
        && !String::from_utf8_lossy(&bytes).contains(&sub(session, text)?)
    {
        return Err(fail(format!("{name} does not contain {text}")));
    }
    Ok(())
}
