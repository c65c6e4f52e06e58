//! The KMS front: the AWS JSON 1.1 protocol over HTTP (`X-Amz-Target: TrentService.<Op>`),
//! SigV4 for service `kms` (the key, scope and clock checked from the headers before any of the
//! body is read, then the signature over the body as received), the body limit, the call into
//! [`super::wire::dispatch`], and the audit record of each request: an unauthenticated request
//! is recorded with its error only, never with what it sent.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::wire::{self, TARGET_PREFIX};
use super::{AuditNotes, Call};
use crate::Inner;
use crate::audit::{AuditEvent, UserIdentity};
use crate::connection::Connection;
use crate::sigv4::{self, AuthError, ReceivedRequest};

/// The largest KMS request body read, after the request is authenticated. The largest KMS
/// requests are key policies, whose quota is 32 KiB
/// (<https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html>), and
/// Encrypt's 4,096 bytes of plaintext, base64-encoded; 64 KiB holds either with room to spare.
pub const MAX_BODY: usize = 64 * 1024;

fn json_response(status: u16, request_id: &str, body: Vec<u8>) -> Response<s3s::Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", request_id)
        .body(s3s::Body::from(Bytes::from(body)))
        .expect("valid response")
}

fn auth_error_code(e: &AuthError) -> &'static str {
    match e {
        AuthError::Missing => "MissingAuthenticationTokenException",
        AuthError::Malformed(_) => "IncompleteSignatureException",
        AuthError::UnknownAccessKey(_) => "UnrecognizedClientException",
        AuthError::ExpiredToken => "ExpiredTokenException",
        AuthError::SignatureMismatch | AuthError::Skewed(_) | AuthError::WrongScope(_) => {
            "InvalidSignatureException"
        }
    }
}

/// The audit name of a request's operation: a known one, or `Unknown` (never the caller's text).
fn audited_name(operation: Option<&str>) -> String {
    operation
        .filter(|op| wire::OPERATIONS.contains(op))
        .unwrap_or("Unknown")
        .to_string()
}

/// Serves one KMS request.
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
        .map(str::to_string);
    let mut event = AuditEvent::new(
        "kms.amazonaws.com",
        &request_id,
        conn.secure,
        inner.clock.now(),
    );
    event.event_name = audited_name(operation.as_deref());
    let refuse = |mut event: AuditEvent, status: u16, code: &str, message: &str| {
        event.error_code = Some(code.into());
        event.error_message = Some(message.into());
        inner.audit.record(event);
        json_response(status, &request_id, wire::error_body(code, message))
    };
    let Some(operation) = operation else {
        let msg = "This keylab engine serves KMS over AWS JSON 1.1 (X-Amz-Target: TrentService.<Operation>); S3 requests carry no X-Amz-Target.";
        return refuse(event, 400, "UnknownOperationException", msg);
    };
    let authorized = crate::auth::authenticate(&inner, &parts.headers, "kms");
    let (auth, principal, amz_date) = match authorized {
        Ok(found) => found,
        Err(e) => return refuse(event, 400, auth_error_code(&e), &e.to_string()),
    };
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let msg = format!(
                "The request body is larger than {MAX_BODY} bytes (KMS requests are small) or was cut off."
            );
            return refuse(event, 413, "SerializationException", &msg);
        }
    };
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body: &body,
    };
    let identity: &crate::identity::Identity = &principal;
    if let Err(e) = sigv4::verify_signature(&received, &auth, identity.secret.expose(), &amz_date) {
        return refuse(event, 400, auth_error_code(&e), &e.to_string());
    }
    event.user_identity = Some(UserIdentity::of(identity));
    event.request_parameters = wire::audit_parameters(&body);
    let mut call = Call {
        identity,
        secure_transport: conn.secure,
        source_ip: conn.peer.ip().to_string(),
        via_service: None,
        notes: AuditNotes::default(),
    };
    let result = wire::dispatch(&inner.kms, &mut call, &operation, &body);
    event.resources = std::mem::take(&mut call.notes.resources);
    event.resources.dedup();
    event.encryption_context = call.notes.encryption_context.take();
    event.decision = call.notes.allowed.map(|a| {
        if a {
            "Allow".to_string()
        } else {
            "Deny".to_string()
        }
    });
    event.trace = call.notes.denied.take().map(|d| Box::new(d.trace));
    let response = match result {
        Ok(body) => json_response(200, &request_id, body),
        Err(e) => {
            event.error_code = Some(e.code.to_string());
            event.error_message = Some(e.message.clone());
            json_response(e.status, &request_id, wire::error_body(e.code, &e.message))
        }
    };
    inner.audit.record(event);
    response
}
