//! The KMS front: the AWS JSON 1.1 protocol over HTTP (`X-Amz-Target: TrentService.<Op>`), the
//! body limit, SigV4 for service `kms`, the call into [`super::wire::dispatch`], and the audit
//! record of each request.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::wire::{self, TARGET_PREFIX};
use super::{AuditNotes, Call};
use crate::Inner;
use crate::audit::{AuditEvent, UserIdentity};
use crate::connection::Connection;
use crate::sigv4::{self, AuthError, AuthorizationHeader, ReceivedRequest};

/// Largest request body the engine reads.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

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
        AuthError::SignatureMismatch | AuthError::Skewed(_) | AuthError::WrongScope(_) => {
            "InvalidSignatureException"
        }
    }
}

/// Serves one KMS request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let msg = format!("The request body is larger than {MAX_BODY} bytes or was cut off.");
            return json_response(
                413,
                &request_id,
                wire::error_body("SerializationException", &msg),
            );
        }
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        let msg = "This keylab engine serves KMS over AWS JSON 1.1 (X-Amz-Target: TrentService.<Operation>); S3 requests carry no X-Amz-Target.";
        return json_response(
            400,
            &request_id,
            wire::error_body("UnknownOperationException", msg),
        );
    };
    let mut event = AuditEvent::new(
        "kms.amazonaws.com",
        &request_id,
        conn.secure,
        inner.clock.now(),
    );
    event.event_name = operation.to_string();
    event.request_parameters = wire::audit_parameters(&body);

    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        path,
        query,
        headers: &parts.headers,
        body: &body,
    };
    let identity = AuthorizationHeader::from_headers(&parts.headers).and_then(|auth| {
        let identity = inner
            .identities
            .by_access_key(&auth.access_key_id)
            .ok_or_else(|| AuthError::UnknownAccessKey(auth.access_key_id.clone()))?;
        sigv4::verify(
            &received,
            &auth,
            identity.secret.expose(),
            &inner.region,
            "kms",
            SystemTime::now(),
        )?;
        Ok(identity)
    });
    let identity = match identity {
        Ok(i) => i,
        Err(e) => {
            let code = auth_error_code(&e);
            event.error_code = Some(code.into());
            event.error_message = Some(e.to_string());
            inner.audit.record(event);
            return json_response(400, &request_id, wire::error_body(code, &e.to_string()));
        }
    };
    event.user_identity = Some(UserIdentity::of(identity));
    let mut call = Call {
        identity,
        secure_transport: conn.secure,
        source_ip: conn.peer.ip().to_string(),
        via_service: None,
        notes: AuditNotes::default(),
    };
    let result = wire::dispatch(&inner.kms, &mut call, operation, &body);
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
