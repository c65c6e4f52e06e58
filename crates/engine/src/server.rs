//! The engine's HTTP front: plain HTTP and HTTPS listeners on 127.0.0.1, request routing to
//! the services (KMS by `X-Amz-Target`, everything else to S3), SigV4 verification of every
//! request, and the audit record of each one. `aws:SecureTransport` and the TLS version come
//! from the listener a request arrived on and travel to S3 in the request's extensions.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::Inner;
use super::audit::{AuditEvent, UserIdentity};
use super::kms::wire::{self, TARGET_PREFIX};
use super::kms::{AuditNotes, Call};
use super::s3::access::{AuditSlot, new_event};
use super::sigv4::{self, AuthError, AuthorizationHeader, ReceivedRequest};

/// Largest request body the engine reads.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What the engine knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client's address.
    pub peer: SocketAddr,
    /// True for the HTTPS listener.
    pub secure: bool,
    /// The negotiated TLS version, such as `1.3`.
    pub tls_version: Option<String>,
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    inner: Arc<Inner>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => {
                    let conn = Connection {
                        peer,
                        secure: false,
                        tls_version: None,
                    };
                    serve_connection(TokioIo::new(stream), conn, inner).await;
                }
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let version = stream.get_ref().1.protocol_version().map(|v| match v {
                        rustls::ProtocolVersion::TLSv1_3 => "1.3".to_string(),
                        rustls::ProtocolVersion::TLSv1_2 => "1.2".to_string(),
                        other => format!("{other:?}"),
                    });
                    let conn = Connection {
                        peer,
                        secure: true,
                        tls_version: version,
                    };
                    serve_connection(TokioIo::new(stream), conn, inner).await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

async fn serve_connection<I>(io: TokioIo<I>, conn: Connection, inner: Arc<Inner>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let inner = inner.clone();
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(handle(req, conn, inner).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}

fn json_response(status: u16, request_id: &str, body: Vec<u8>) -> Response<s3s::Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", request_id)
        .body(s3s::Body::from(Bytes::from(body)))
        .expect("valid response")
}

/// Reads the `<Code>` of an S3 XML error body.
fn xml_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].to_string())
}

async fn handle_s3(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    let slot = AuditSlot(Arc::new(std::sync::Mutex::new(new_event(
        &request_id,
        conn.secure,
        inner.clock.now(),
    ))));
    let (mut parts, body) = req.into_parts();
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

async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
) -> Response<s3s::Body> {
    let request_id = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string();
    if !req.headers().contains_key("x-amz-target") {
        return handle_s3(req, conn, inner, request_id).await;
    }
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
        let msg = "This keylab engine serves KMS (AWS JSON 1.1 with X-Amz-Target: TrentService.<Operation>); S3 is not served yet.";
        return json_response(
            400,
            &request_id,
            wire::error_body("UnknownOperationException", msg),
        );
    };
    let mut event = AuditEvent {
        event_time: inner.clock.now().format(&Rfc3339).unwrap_or_default(),
        event_source: "kms.amazonaws.com".into(),
        event_name: operation.to_string(),
        request_id: request_id.clone(),
        secure_transport: conn.secure,
        user_identity: None,
        via_service: None,
        resources: Vec::new(),
        encryption_context: None,
        request_parameters: wire::audit_parameters(&body),
        decision: None,
        trace: None,
        error_code: None,
        error_message: None,
    };

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
