//! The S3 front around `s3s`: AWS's authentication rules that `s3s` does not apply
//! ([`super::gate`]), the audit record of each request (filled in by [`super::access`] as the
//! request is authorized, completed here with the outcome) and the request id header.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use super::gate::Refusal;
use crate::Inner;
use crate::audit::{AuditEvent, AuditSlot};
use crate::connection::Connection;
use crate::roles::TokenProblem;

/// Reads the `<Code>` of an S3 XML error body.
fn xml_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].to_string())
}

/// Checks the session token of a request signed with temporary credentials (in the
/// `X-Amz-Security-Token` header, or the query of a presigned URL) before `s3s` verifies
/// the signature with the session's secret; a request with neither a token nor a temporary
/// (`ASIA…`) access key is left alone.
fn check_session_token(parts: &http::request::Parts, inner: &Inner) -> Result<(), Refusal> {
    let query = parts.uri.query().unwrap_or_default();
    let from_query = |name: &str| {
        query.split('&').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.eq_ignore_ascii_case(name)
                .then(|| String::from_utf8_lossy(&crate::sigv4::percent_decode(v)).into_owned())
        })
    };
    let token = crate::auth::session_token(&parts.headers)
        .map(str::to_string)
        .or_else(|| from_query("X-Amz-Security-Token"));
    let access_key = match crate::sigv4::AuthorizationHeader::from_headers(&parts.headers) {
        Ok(auth) => Some(auth.access_key_id),
        Err(_) => {
            from_query("X-Amz-Credential").and_then(|c| c.split('/').next().map(str::to_string))
        }
    };
    let Some(access_key) = access_key else {
        return Ok(());
    };
    if token.is_none() && !access_key.starts_with("ASIA") {
        return Ok(());
    }
    match inner
        .identities
        .authenticate(&access_key, token.as_deref(), inner.clock.now())
    {
        Ok(_) => Ok(()),
        Err(TokenProblem::Expired) => Err(Refusal {
            status: 400,
            code: "ExpiredToken",
            message: "The provided token has expired.".into(),
        }),
        Err(TokenProblem::Invalid) => Err(Refusal {
            status: 400,
            code: "InvalidToken",
            message: "The provided token is malformed or otherwise invalid.".into(),
        }),
    }
}

/// Serves one S3 request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    let slot = AuditSlot(Arc::new(std::sync::Mutex::new(AuditEvent::new(
        "s3.amazonaws.com",
        &request_id,
        conn.secure,
        inner.clock.now(),
    ))));
    let (mut parts, body) = req.into_parts();
    if let Err(refusal) = super::gate::check(&parts, &inner.region) {
        let mut event = slot.0.lock().expect("audit slot").clone();
        event.event_name = "Unauthenticated".into();
        event.error_code = Some(refusal.code.into());
        event.error_message = Some(refusal.message.clone());
        inner.audit.record(event);
        return Response::builder()
            .status(refusal.status)
            .header("content-type", "application/xml")
            .header("x-amz-request-id", request_id.as_str())
            .body(s3s::Body::from(refusal.body(&request_id)))
            .expect("valid response");
    }
    if let Err(refusal) = check_session_token(&parts, &inner) {
        let mut event = slot.0.lock().expect("audit slot").clone();
        event.event_name = "Unauthenticated".into();
        event.error_code = Some(refusal.code.into());
        event.error_message = Some(refusal.message.clone());
        inner.audit.record(event);
        return Response::builder()
            .status(refusal.status)
            .header("content-type", "application/xml")
            .header("x-amz-request-id", request_id.as_str())
            .body(s3s::Body::from(refusal.body(&request_id)))
            .expect("valid response");
    }
    parts.extensions.insert(conn);
    parts.extensions.insert(slot.clone());
    let request = Request::from_parts(parts, s3s::Body::from(body));
    let response = match inner.s3.call(request).await {
        Ok(r) => r,
        Err(e) => {
            let mut event = slot.0.lock().expect("audit slot").clone();
            event.error_code = Some("InternalError".into());
            event.error_message = Some(format!("{e:?}"));
            inner.audit.record(event);
            return Response::builder()
                .status(500)
                .body(s3s::Body::empty())
                .expect("valid response");
        }
    };
    let mut event = slot.0.lock().expect("audit slot").clone();
    if event.event_name.is_empty() {
        event.event_name = "Unauthenticated".into();
    }
    if !response.status().is_success() {
        let code = response.body().bytes().and_then(|b| xml_error_code(&b));
        event.error_code = Some(code.unwrap_or_else(|| response.status().as_u16().to_string()));
    }
    inner.audit.record(event);
    let (mut parts, body) = response.into_parts();
    parts.headers.insert(
        "x-amz-request-id",
        http::HeaderValue::from_str(&request_id).expect("uuid is a valid header"),
    );
    Response::from_parts(parts, body)
}
