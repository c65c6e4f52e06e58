//! The engine's HTTP front: plain HTTP and HTTPS listeners on 127.0.0.1 and the routing of each
//! request to a service: the admin API, CloudTrail, Secrets Manager and KMS by their
//! `X-Amz-Target` ([`crate::admin`], [`crate::cloudtrail`], `secrets::http`, `kms::http`), STS
//! and IAM by the `sts` or `iam` credential scope of their signature ([`crate::sts`],
//! [`crate::iam_query`]), everything else to S3 (`s3::http`). `aws:SecureTransport` and the TLS version come from the listener a
//! request arrived on ([`Connection`]); each service authenticates and audits its own requests.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::Inner;
use super::connection::Connection;

/// The most connections served at once; further ones wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a client may take to send a request's headers (and how long an idle kept-alive
/// connection stays open), and to finish a TLS handshake.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the accept loop waits when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections until `shutdown` turns true: at most [`MAX_CONNECTIONS`] at once, each
/// with [`HEADER_TIMEOUT`] for its handshake and headers; when accepting fails (out of file
/// descriptors) the loop waits [`ACCEPT_BACKOFF`] instead of spinning.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    inner: Arc<Inner>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p,
            _ = shutdown.changed() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
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
                    let handshake = tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream));
                    let Ok(Ok(stream)) = handshake.await else {
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
    // Ends open connections and waits until each has let go of the engine, so the state
    // store is closed when shutdown returns and the directory can be opened again at once.
    connections.abort_all();
    while connections.join_next().await.is_some() {}
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
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}

/// True when the request's `Authorization` header is scoped to `service`
/// (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
fn signed_for(req: &Request<Incoming>, service: &str) -> bool {
    let Some(value) = req.headers().get(http::header::AUTHORIZATION) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    value
        .split(',')
        .find_map(|p| p.trim().split_once("Credential="))
        .and_then(|(_, scope)| scope.split('/').nth(3))
        .is_some_and(|s| s == service)
}

async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
) -> Response<s3s::Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Some(target) = req.headers().get("x-amz-target") {
        if target
            .as_bytes()
            .starts_with(crate::admin::TARGET_PREFIX.as_bytes())
        {
            return crate::admin::handle(req, conn, inner, request_id).await;
        }
        if target
            .to_str()
            .is_ok_and(|t| t.contains(crate::cloudtrail::TARGET_MARK))
        {
            return crate::cloudtrail::handle(req, conn, inner, request_id).await;
        }
        if target
            .as_bytes()
            .starts_with(crate::secrets::http::TARGET_PREFIX.as_bytes())
        {
            return crate::secrets::http::handle(req, conn, inner, request_id).await;
        }
        return crate::kms::http::handle(req, conn, inner, request_id).await;
    }
    // STS answers at `/` only, so a request for an S3 object signed for the wrong service
    // still gets S3's answer.
    if req.uri().path() == "/" && signed_for(&req, "sts") {
        return crate::sts::handle(req, conn, inner, request_id).await;
    }
    if req.uri().path() == "/" && signed_for(&req, "iam") {
        return crate::iam_query::handle(req, conn, inner, request_id).await;
    }
    crate::s3::http::handle(req, conn, inner, request_id).await
}
