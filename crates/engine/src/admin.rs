//! The engine's own admin API, so a running engine's clock can be moved from outside
//! (`keylab engine clock`): AWS JSON 1.1 with `X-Amz-Target: KeylabEngine.<Operation>`, signed
//! with SigV4 for the service name `keylab`, and allowed to principals of the owner account
//! only (the account named `owner`, else the first one of the identity file). Operations:
//! `GetClock`, `AdvanceClock` (`{"Seconds": n}`, 0 to ten years) and `SetClock`
//! (`{"Time": "<RFC 3339>"}`, never earlier than the clock's current time). Each answers
//! `{"Now": "<RFC 3339>", "OffsetSeconds": n}` and applies what became due (rotations,
//! deletions; sessions expire by themselves). Every call is audited.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::connection::Connection;
use crate::json_front::{Accepted, JsonFront, Refusal, Served};
use crate::{EngineHandle, Inner};

/// The `X-Amz-Target` prefix of admin operations.
pub const TARGET_PREFIX: &str = "KeylabEngine.";

/// The service name admin requests are signed for.
pub const SIGNING_NAME: &str = "keylab";

/// The largest admin request body read.
pub const MAX_BODY: usize = 4 * 1024;

/// The furthest one `AdvanceClock` moves the clock: ten years.
pub const MAX_ADVANCE_SECONDS: i64 = 10 * 366 * 86_400;

/// The operations served.
pub const OPERATIONS: &[&str] = &["GetClock", "AdvanceClock", "SetClock"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceInput {
    #[serde(rename = "Seconds")]
    seconds: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetInput {
    #[serde(rename = "Time")]
    time: String,
}

struct AdminError {
    status: u16,
    code: &'static str,
    message: String,
}

impl AdminError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }
}

fn clock_body(now: OffsetDateTime, offset: i64) -> String {
    serde_json::json!({
        "Now": now.format(&Rfc3339).unwrap_or_default(),
        "OffsetSeconds": offset,
    })
    .to_string()
}

fn run(inner: &Arc<Inner>, operation: &str, body: &[u8]) -> Result<String, AdminError> {
    let handle = EngineHandle(inner.clone());
    let malformed = |e: serde_json::Error| {
        AdminError::new(
            400,
            "SerializationException",
            format!("The body is not valid: {e}"),
        )
    };
    match operation {
        "GetClock" => {}
        "AdvanceClock" => {
            let input: AdvanceInput = serde_json::from_slice(body).map_err(malformed)?;
            if !(0..=MAX_ADVANCE_SECONDS).contains(&input.seconds) {
                return Err(AdminError::new(
                    400,
                    "ValidationException",
                    format!(
                        "Seconds {} must be 0 to {MAX_ADVANCE_SECONDS} (ten years): the engine clock only moves forward.",
                        input.seconds
                    ),
                ));
            }
            handle
                .advance_clock(time::Duration::seconds(input.seconds))
                .map_err(|e| AdminError::new(500, "InternalFailure", e.to_string()))?;
        }
        "SetClock" => {
            let input: SetInput = serde_json::from_slice(body).map_err(malformed)?;
            let to = OffsetDateTime::parse(&input.time, &Rfc3339).map_err(|e| {
                AdminError::new(
                    400,
                    "ValidationException",
                    format!(
                        "Time '{}' is not an RFC 3339 time such as 2027-01-01T00:00:00Z: {e}",
                        input.time.chars().take(64).collect::<String>()
                    ),
                )
            })?;
            let limit = inner.clock.now() + time::Duration::seconds(MAX_ADVANCE_SECONDS);
            if to > limit {
                return Err(AdminError::new(
                    400,
                    "ValidationException",
                    "Time is more than ten years ahead of the engine clock.",
                ));
            }
            handle
                .set_clock(to)
                .map_err(|m| AdminError::new(400, "ValidationException", m))?;
        }
        other => {
            return Err(AdminError::new(
                400,
                "UnknownOperationException",
                format!(
                    "{other} is not an admin operation; there are {}.",
                    OPERATIONS.join(", ")
                ),
            ));
        }
    }
    Ok(clock_body(inner.clock.now(), inner.clock.offset_secs()))
}

/// The account allowed to use the admin API.
fn owner_account(inner: &Inner) -> Option<String> {
    let accounts = inner.identities.accounts();
    accounts
        .iter()
        .find(|a| a.name == "owner")
        .or_else(|| accounts.first())
        .map(|a| a.id.clone())
}

/// How admin requests are named, signed and bounded.
const FRONT: JsonFront = JsonFront {
    source: "keylab.engine",
    signing_name: SIGNING_NAME,
    max_body: MAX_BODY,
    operations: OPERATIONS,
    title: "the engine's admin API",
};

fn refusal(e: AdminError) -> Refusal {
    Refusal {
        status: e.status,
        code: e.code.to_string(),
        message: e.message,
    }
}

/// Serves one admin request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    FRONT
        .serve(req, conn, inner, request_id, operation_of, work)
        .await
}

/// The operation an `X-Amz-Target` names.
fn operation_of(target: &str) -> Option<&str> {
    target.strip_prefix(TARGET_PREFIX)
}

fn work(inner: &Arc<Inner>, _conn: &Connection, accepted: Accepted<'_>) -> Served {
    let Accepted {
        operation,
        principal,
        body,
        mut event,
    } = accepted;
    let owner = owner_account(inner);
    if owner.as_deref() != Some(principal.caller.account.as_str()) {
        let r = Refusal::new(
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: keylab:{operation}: only principals of the owner account ({}) may move the engine clock.",
                principal.caller.arn,
                owner.unwrap_or_default()
            ),
        );
        event.decision = Some("Deny".into());
        return (event, Err(r));
    }
    event.decision = Some("Allow".into());
    event.request_parameters = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let outcome = run(inner, &operation, &body).map_err(refusal);
    (event, outcome)
}
