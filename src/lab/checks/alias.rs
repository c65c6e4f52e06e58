//! An alias exists (every page of ListAliases is read: a shared backend can hold more
//! aliases than one page) and points at the expected key.

use super::*;

pub(super) async fn run(session: &Session, c: &AliasCheck) -> Result<(), Failure> {
    let settings = settings_as(session, c.profile.as_deref())?;
    let alias = sub(session, &c.alias)?;
    // Every page: a shared backend can hold more aliases than one page shows.
    let mut marker: Option<String> = None;
    let found = loop {
        let page = kms_call(&settings, "ListAliases", json!({ "Marker": marker })).await?;
        let hit = page
            .get("Aliases")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|x| x.get("AliasName").and_then(Value::as_str) == Some(&alias))
            })
            .cloned();
        if hit.is_some() {
            break hit;
        }
        marker = page
            .get("NextMarker")
            .and_then(Value::as_str)
            .map(str::to_string);
        if marker.is_none() {
            break None;
        }
    };
    let found = found.ok_or_else(|| fail(format!("there is no alias {alias}")))?;
    if let Some(target) = &c.target {
        let want = key_arn(&settings, &sub(session, target)?).await?;
        let got = found
            .get("TargetKeyId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !want.ends_with(got) || got.is_empty() {
            return Err(fail(format!("{alias} points to {got}, not {want}")));
        }
    }
    Ok(())
}
