//! A small signed HTTP client for AWS JSON protocols (KMS's JSON 1.1), so the console can send
//! any KMS operation by name exactly as the AWS CLI does (botocore is model-driven the same
//! way): the request body is the CLI's arguments as JSON, the response is printed as it comes.
//! `aws-sdk-kms` has no call-by-name entry point, hence this module; it is built from `hyper`
//! (HTTP/1.1), `tokio-rustls` (trusting only the lab's CA when one is given) and `aws-sigv4`.

use std::sync::Arc;
use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::backend::sdk::ClientSettings;

/// A transport or signing failure (not an AWS error response).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

fn wire<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> WireError + '_ {
    move |e| WireError(format!("{what}: {e}"))
}

/// Sends one AWS JSON 1.1 request and returns the status and body.
pub async fn call_json(
    settings: &ClientSettings,
    service: &str,
    target: &str,
    body: Vec<u8>,
) -> Result<(u16, Bytes), WireError> {
    call_signed(
        settings,
        service,
        "application/x-amz-json-1.1",
        Some(target),
        body,
    )
    .await
}

/// Sends one AWS Query-protocol request (a form body such as
/// `Action=AssumeRole&Version=2011-06-15&…`, as STS takes) and returns the status and body.
pub async fn call_query(
    settings: &ClientSettings,
    service: &str,
    form: Vec<u8>,
) -> Result<(u16, Bytes), WireError> {
    call_signed(
        settings,
        service,
        "application/x-www-form-urlencoded; charset=utf-8",
        None,
        form,
    )
    .await
}

async fn call_signed(
    settings: &ClientSettings,
    service: &str,
    content_type: &str,
    target: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, Bytes), WireError> {
    let uri: http::Uri = settings
        .endpoint
        .parse()
        .map_err(wire("the endpoint URL is not valid"))?;
    let https = uri.scheme_str() == Some("https");
    let host = uri
        .host()
        .ok_or_else(|| WireError("the endpoint URL has no host".into()))?
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_else(|| host.clone());
    let url = format!("{}://{authority}/", if https { "https" } else { "http" });

    let credentials = aws_credential_types::Credentials::new(
        settings.access_key_id.clone(),
        settings.secret_access_key.clone(),
        settings.session_token.clone(),
        None,
        "keylab",
    );
    let identity = credentials.into();
    let signing = v4::SigningParams::builder()
        .identity(&identity)
        .region(&settings.region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(wire("cannot sign the request"))?
        .into();
    let mut headers = vec![("host", authority.as_str()), ("content-type", content_type)];
    if let Some(target) = target {
        headers.push(("x-amz-target", target));
    }
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(&body),
    )
    .map_err(wire("cannot sign the request"))?;
    let (instructions, _) = sign(signable, &signing)
        .map_err(wire("cannot sign the request"))?
        .into_parts();
    let mut request = http::Request::builder().method("POST").uri("/");
    for (name, value) in &headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(wire("cannot build the request"))?;
    instructions.apply_to_request_http1x(&mut request);

    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| WireError(format!("cannot connect to {}: {e}", settings.endpoint)))?;
    tcp.set_nodelay(true).ok();
    let response = if https {
        let config = tls_config(settings.ca_pem.as_deref())?;
        let name = ServerName::try_from(host.clone()).map_err(wire("bad host name"))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| {
                WireError(format!(
                    "TLS handshake with {} failed: {e}",
                    settings.endpoint
                ))
            })?;
        send(TokioIo::new(stream), request).await?
    } else {
        send(TokioIo::new(tcp), request).await?
    };
    Ok(response)
}

async fn send<S>(io: S, request: http::Request<Full<Bytes>>) -> Result<(u16, Bytes), WireError>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(wire("HTTP handshake failed"))?;
    tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(wire("the request failed"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(wire("cannot read the response"))?
        .to_bytes();
    Ok((status, body))
}

fn tls_config(ca_pem: Option<&str>) -> Result<rustls::ClientConfig, WireError> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| WireError(format!("the CA certificate: {e:?}")))?;
            roots.add(cert).map_err(wire("the CA certificate"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(wire("TLS set-up"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
