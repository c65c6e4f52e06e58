//! Secrets Manager over the wire: AWS JSON 1.1 (`X-Amz-Target: secretsmanager.<Operation>`,
//! SigV4 for the service name `secretsmanager`), in front of [`super::SecretsManager`], so
//! `aws secretsmanager …`, boto3 and the SDKs work against the engine. Every call is audited
//! as CloudTrail records it (`secretsmanager.amazonaws.com`, the secret's ARN, no value).

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::{SecretsCall, SecretsError};
use crate::Inner;
use crate::connection::Connection;
use crate::json_front::{Accepted, JsonFront, Refusal, Served};

/// What every Secrets Manager `X-Amz-Target` starts with.
pub const TARGET_PREFIX: &str = "secretsmanager.";

/// The service name requests are signed for.
pub const SIGNING_NAME: &str = "secretsmanager";

/// The operations served.
pub const OPERATIONS: &[&str] = &[
    "CreateSecret",
    "GetSecretValue",
    "PutSecretValue",
    "UpdateSecret",
    "DescribeSecret",
    "ListSecrets",
    "DeleteSecret",
    "RestoreSecret",
    "PutResourcePolicy",
    "GetResourcePolicy",
    "DeleteResourcePolicy",
];

/// The largest request body read: a 64 KiB value in base64, with room for the rest.
pub const MAX_BODY: usize = 128 * 1024;

/// How Secrets Manager requests are named, signed and bounded.
const FRONT: JsonFront = JsonFront {
    source: "secretsmanager.amazonaws.com",
    signing_name: SIGNING_NAME,
    max_body: MAX_BODY,
    operations: OPERATIONS,
    title: "the engine's Secrets Manager",
};

fn refusal(e: SecretsError) -> Refusal {
    Refusal {
        status: e.status(),
        code: e.code.to_string(),
        message: e.message,
    }
}

/// Serves one Secrets Manager request.
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

fn work(inner: &Arc<Inner>, conn: &Connection, accepted: Accepted<'_>) -> Served {
    let Accepted {
        operation,
        principal,
        body,
        mut event,
    } = accepted;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                let r = Refusal::new("SerializationException", "The body must be a JSON object.");
                return (event, Err(r));
            }
        }
    };
    let call = SecretsCall {
        identity: &principal,
        secure: conn.secure,
        source_ip: conn.peer.ip().to_string(),
    };
    let outcome = inner
        .secrets
        .call(&call, &operation, &input, &mut event)
        .map(|out| out.to_string())
        .map_err(refusal);
    (event, outcome)
}
