//! `aws cloudtrail lookup-events`: the event history of the caller's account, from the
//! backend's CloudTrail (the built-in engine answers it from its audit log; see
//! `keylab_engine::cloudtrail`). Options as the AWS CLI names them: `--lookup-attributes
//! AttributeKey=EventName,AttributeValue=Decrypt` (shorthand or JSON), `--start-time` and
//! `--end-time` (ISO 8601 or seconds since the epoch), `--max-results N` (one page), and
//! otherwise every page followed, as the CLI paginates. Dates are printed as ISO 8601.

use serde_json::{Value, json};

use super::args::{self, Parsed};
use super::{CmdError, Ctx};

const OPERATIONS: &[&str] = &["lookup-events"];

/// Runs `aws cloudtrail <operation> …`.
pub async fn run(ctx: &Ctx<'_>, operation: &str, mut p: Parsed) -> Result<Value, CmdError> {
    if !OPERATIONS.contains(&operation) {
        return Err(CmdError::invalid_choice(
            "operation",
            OPERATIONS.iter().copied(),
        ));
    }
    let usage = CmdError::Usage;
    let mut body = json!({});
    if let Some(text) = p.take_one("lookup-attributes").map_err(usage)? {
        let value = if text.trim_start().starts_with('[') {
            serde_json::from_str(&text).map_err(|e| {
                CmdError::Usage(format!(
                    "Error parsing parameter '--lookup-attributes': Invalid JSON: {e}"
                ))
            })?
        } else {
            Value::Array(vec![args::shorthand(&text).map_err(|e| {
                CmdError::Usage(format!(
                    "Error parsing parameter '--lookup-attributes': {e}"
                ))
            })?])
        };
        body["LookupAttributes"] = value;
    }
    for (option, field) in [("start-time", "StartTime"), ("end-time", "EndTime")] {
        if let Some(text) = p.take_one(option).map_err(usage)? {
            body[field] = json!(epoch_seconds(option, &text)?);
        }
    }
    let max_results = p.take_one("max-results").map_err(usage)?;
    p.finish().map_err(usage)?;
    let events = match max_results {
        Some(n) => {
            let n: i64 = n.parse().map_err(|_| {
                CmdError::Usage(format!("argument --max-results: invalid int value: '{n}'"))
            })?;
            body["MaxResults"] = json!(n);
            let page = crate::backend::client::cloudtrail_call(&ctx.settings, "LookupEvents", body)
                .await?;
            page.get("Events").cloned().unwrap_or_else(|| json!([]))
        }
        None => Value::Array(crate::backend::client::lookup_events(&ctx.settings, body).await?),
    };
    Ok(json!({ "Events": iso_event_times(events) }))
}

/// A time option as seconds since the epoch: ISO 8601 (`2026-12-02T10:00:00Z`, or a date) or
/// a number of seconds.
fn epoch_seconds(option: &str, text: &str) -> Result<i64, CmdError> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    if let Ok(t) = time::OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    Err(CmdError::Usage(format!(
        "argument --{option}: '{text}' is not a time; write 2026-12-02T10:00:00Z, 2026-12-02 or seconds since the epoch"
    )))
}

fn iso_event_times(events: Value) -> Value {
    let Value::Array(list) = events else {
        return events;
    };
    Value::Array(
        list.into_iter()
            .map(|mut e| {
                if let Some(secs) = e.get("EventTime").and_then(Value::as_f64)
                    && let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs as i64)
                    && let Ok(text) = t.format(&time::format_description::well_known::Rfc3339)
                {
                    e["EventTime"] = json!(text);
                }
                e
            })
            .collect(),
    )
}
