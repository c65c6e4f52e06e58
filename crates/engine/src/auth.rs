//! The first step of authenticating a request to a JSON or Query service (KMS, STS, the admin
//! API): the `Authorization` header read, its access key found (a long-term key with one map
//! lookup; a session only when the request carries `X-Amz-Security-Token`, checked against
//! the session's token and its expiry on the engine clock), and the credential scope and
//! signing time checked, all before the body is read. The signature itself is checked once
//! the body is in ([`crate::sigv4::verify_signature`]).

use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::Inner;
use crate::roles::{Principal, TokenProblem};
use crate::sigv4::{self, AuthError, AuthorizationHeader, ReceivedRequest};

/// The header temporary credentials carry their session token in.
pub const SECURITY_TOKEN: &str = "x-amz-security-token";

/// The session token of a request, if it carries one.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(SECURITY_TOKEN).and_then(|v| v.to_str().ok())
}

/// Maps a session-token problem to the authentication error services report.
pub fn token_error(problem: TokenProblem, access_key_id: &str) -> AuthError {
    match problem {
        TokenProblem::Invalid => AuthError::UnknownAccessKey(access_key_id.to_string()),
        TokenProblem::Expired => AuthError::ExpiredToken,
    }
}

/// Finds the caller of a request to `service` and checks its scope and signing time; returns
/// the parsed header, the caller and the `X-Amz-Date` for the signature check.
pub fn authenticate<'a>(
    inner: &'a Inner,
    headers: &HeaderMap,
    service: &str,
) -> Result<(AuthorizationHeader, Principal<'a>, String), AuthError> {
    let auth = AuthorizationHeader::from_headers(headers)?;
    let principal = inner
        .identities
        .authenticate(
            &auth.access_key_id,
            session_token(headers),
            inner.clock.now(),
        )
        .map_err(|p| token_error(p, &auth.access_key_id))?;
    let amz_date = sigv4::check_scope(headers, &auth, &inner.region, service, SystemTime::now())?;
    Ok((auth, principal, amz_date))
}

/// Why [`authenticate_signed`] refused a request.
pub enum SignedRequestError {
    /// The caller, the scope, the signing time or the signature.
    Auth(AuthError),
    /// The body is larger than allowed, or was cut off.
    TooLarge,
}

/// A whole request to a Query or JSON service authenticated: the caller found from the headers
/// before the body is read ([`authenticate`]), the body read up to `max_body` bytes, and the
/// signature verified over the body as received. Returns the caller and the body.
pub async fn authenticate_signed<'a>(
    inner: &'a Inner,
    parts: &Parts,
    body: Incoming,
    service: &str,
    max_body: usize,
) -> Result<(Principal<'a>, Bytes), SignedRequestError> {
    let (auth, principal, amz_date) =
        authenticate(inner, &parts.headers, service).map_err(SignedRequestError::Auth)?;
    let body = Limited::new(body, max_body)
        .collect()
        .await
        .map_err(|_| SignedRequestError::TooLarge)?
        .to_bytes();
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body: &body,
    };
    sigv4::verify_signature(&received, &auth, principal.secret.expose(), &amz_date)
        .map_err(SignedRequestError::Auth)?;
    Ok((principal, body))
}
