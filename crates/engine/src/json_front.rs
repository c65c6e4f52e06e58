//! What the engine's AWS JSON 1.1 fronts other than KMS share (CloudTrail, Secrets Manager, the
//! admin API): an audit record started for the request, the caller authenticated and the body
//! read within the service's limit ([`crate::auth::authenticate_signed`]), the operation checked
//! against those the service serves, and every refusal audited and answered as AWS JSON
//! services answer (`{"__type": code, "Message": …}`). Each service reads its operation from
//! `X-Amz-Target` its own way, and does the work and the authorization itself. KMS keeps its own
//! front (`kms::http`): it authenticates before reading a body of its own size and keeps
//! operation-specific audit parameters.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::json;

use crate::Inner;
use crate::audit::{AuditEvent, UserIdentity};
use crate::auth::SignedRequestError;
use crate::connection::Connection;
use crate::roles::Principal;

/// A refusal: HTTP status, AWS error code and message.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Refusal {
    /// A refusal with status 400.
    pub fn new(code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status: 400,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// One JSON service's front: how its requests are named, signed and bounded.
pub(crate) struct JsonFront {
    /// The audit log's `eventSource` (`cloudtrail.amazonaws.com`).
    pub source: &'static str,
    /// The service name requests are signed for.
    pub signing_name: &'static str,
    /// The largest body read.
    pub max_body: usize,
    /// The operations served.
    pub operations: &'static [&'static str],
    /// What the service calls itself in the refusal of an unknown operation.
    pub title: &'static str,
}

/// An authenticated request to a served operation.
pub(crate) struct Accepted<'a> {
    /// The operation.
    pub operation: String,
    /// The caller.
    pub principal: Principal<'a>,
    /// The body as received (signature verified).
    pub body: Bytes,
    /// The audit record so far (caller and operation filled in).
    pub event: AuditEvent,
}

/// What a service's work answers: the audit record, and the response body or the refusal.
pub(crate) type Served = (AuditEvent, Result<String, Refusal>);

impl JsonFront {
    /// Serves one request: the operation is read from `X-Amz-Target` by `operation_of`, the
    /// request accepted ([`Self::accept`]), `work` done on it, and the outcome audited and
    /// answered.
    pub async fn serve<F>(
        &self,
        req: Request<Incoming>,
        conn: Connection,
        inner: Arc<Inner>,
        request_id: String,
        operation_of: fn(&str) -> Option<&str>,
        work: F,
    ) -> Response<s3s::Body>
    where
        F: for<'a> FnOnce(&'a Arc<Inner>, &Connection, Accepted<'a>) -> Served,
    {
        let (parts, body) = req.into_parts();
        let operation = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(operation_of)
            .unwrap_or_default()
            .to_string();
        let accepted = self
            .accept(&inner, &parts, body, &conn, &request_id, operation)
            .await;
        let (event, outcome) = match accepted {
            Ok(accepted) => work(&inner, &conn, accepted),
            Err((event, refusal)) => (event, Err(refusal)),
        };
        match outcome {
            Ok(body) => answer(&inner, &request_id, event, body),
            Err(refusal) => refuse(&inner, &request_id, event, refusal),
        }
    }

    /// Authenticates a request for `operation`; a refusal comes back with its audit record.
    async fn accept<'a>(
        &self,
        inner: &'a Inner,
        parts: &Parts,
        body: Incoming,
        conn: &Connection,
        request_id: &str,
        operation: String,
    ) -> Result<Accepted<'a>, (AuditEvent, Refusal)> {
        let mut event = AuditEvent::new(self.source, request_id, conn.secure, inner.clock.now());
        event.event_name = if self.operations.contains(&operation.as_str()) {
            operation.clone()
        } else {
            "Unknown".into()
        };
        let found =
            crate::auth::authenticate_signed(inner, parts, body, self.signing_name, self.max_body)
                .await;
        let (principal, body) = match found {
            Ok(found) => found,
            Err(SignedRequestError::Auth(e)) => {
                let code = crate::reply::json_auth_code(&e);
                return Err((event, Refusal::new(code, e.to_string())));
            }
            Err(SignedRequestError::TooLarge) => {
                let refusal = Refusal {
                    status: 413,
                    code: "SerializationException".into(),
                    message: format!("The request body is larger than {} bytes.", self.max_body),
                };
                return Err((event, refusal));
            }
        };
        event.user_identity = Some(UserIdentity::of(&principal));
        if !self.operations.contains(&operation.as_str()) {
            let message = format!(
                "{} is not served by {}: it answers {}.",
                operation.chars().take(64).collect::<String>(),
                self.title,
                self.operations.join(", ")
            );
            return Err((event, Refusal::new("UnknownOperationException", message)));
        }
        Ok(Accepted {
            operation,
            principal,
            body,
            event,
        })
    }
}

/// Audits a refused request and answers it.
fn refuse(
    inner: &Inner,
    request_id: &str,
    mut event: AuditEvent,
    refusal: Refusal,
) -> Response<s3s::Body> {
    event.error_code = Some(refusal.code.clone());
    event.error_message = Some(refusal.message.clone());
    inner.audit.record(event);
    let body = json!({"__type": refusal.code, "Message": refusal.message}).to_string();
    crate::reply::json(refusal.status, request_id, body)
}

/// Audits a served request and answers it with `body`.
fn answer(inner: &Inner, request_id: &str, event: AuditEvent, body: String) -> Response<s3s::Body> {
    inner.audit.record(event);
    crate::reply::json(200, request_id, body)
}
