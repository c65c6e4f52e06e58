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
use crate::audit::AuditEvent;
use crate::auth::SignedRequestError;
use crate::connection::Connection;

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

fn answer(request_id: &str, e: &SecretsError) -> Response<s3s::Body> {
    let body = json!({"__type": e.code, "Message": e.message}).to_string();
    crate::reply::json(e.status(), request_id, body)
}

/// Serves one Secrets Manager request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    let (parts, body) = req.into_parts();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or_default()
        .to_string();
    let mut event = AuditEvent::new(
        "secretsmanager.amazonaws.com",
        &request_id,
        conn.secure,
        inner.clock.now(),
    );
    event.event_name = if OPERATIONS.contains(&operation.as_str()) {
        operation.clone()
    } else {
        "Unknown".into()
    };
    let refuse = |mut event: AuditEvent, e: SecretsError| {
        event.error_code = Some(e.code.into());
        event.error_message = Some(e.message.clone());
        inner.audit.record(event);
        answer(&request_id, &e)
    };
    let (principal, body) = match crate::auth::authenticate_signed(
        &inner,
        &parts,
        body,
        SIGNING_NAME,
        MAX_BODY,
    )
    .await
    {
        Ok(found) => found,
        Err(SignedRequestError::Auth(e)) => {
            let code = crate::reply::json_auth_code(&e);
            return refuse(event, SecretsError::new(code, e.to_string()));
        }
        Err(SignedRequestError::TooLarge) => {
            let e = SecretsError::new(
                "InvalidRequestException",
                format!("The request body is larger than {MAX_BODY} bytes."),
            );
            return refuse(event, e);
        }
    };
    if !OPERATIONS.contains(&operation.as_str()) {
        let e = SecretsError::new(
            "UnknownOperationException",
            format!(
                "{} is not served by the engine's Secrets Manager: it answers {}.",
                operation.chars().take(64).collect::<String>(),
                OPERATIONS.join(", ")
            ),
        );
        return refuse(event, e);
    }
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                let e =
                    SecretsError::new("SerializationException", "The body must be a JSON object.");
                return refuse(event, e);
            }
        }
    };
    let call = SecretsCall {
        identity: &principal,
        secure: conn.secure,
        source_ip: conn.peer.ip().to_string(),
    };
    match inner.secrets.call(&call, &operation, &input, &mut event) {
        Ok(out) => {
            inner.audit.record(event);
            crate::reply::json(200, &request_id, out.to_string())
        }
        Err(e) => refuse(event, e),
    }
}
