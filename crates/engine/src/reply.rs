//! The shapes every Query and JSON service front answers with (STS, IAM, CloudTrail, the admin
//! API): a response with the protocol's content type and the request id, and the condition
//! keys every authorization of a signed caller starts from. Only the shapes live here; each
//! service writes its own bodies and errors.

use bytes::Bytes;
use http::{Response, StatusCode};
use keylab_policy::ContextKeys;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::identity::{Identity, PrincipalKind};
use crate::sigv4::AuthError;

fn response(
    status: u16,
    content_type: &str,
    request_id: &str,
    body: String,
) -> Response<s3s::Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id)
        .body(s3s::Body::from(Bytes::from(body)))
        .expect("valid response")
}

/// An AWS JSON 1.1 answer.
pub fn json(status: u16, request_id: &str, body: String) -> Response<s3s::Body> {
    response(status, "application/x-amz-json-1.1", request_id, body)
}

/// A Query-protocol (XML) answer.
pub fn xml(status: u16, request_id: &str, body: String) -> Response<s3s::Body> {
    response(status, "text/xml", request_id, body)
}

/// The global condition keys of a request by `identity`: `aws:SecureTransport`,
/// `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:userid`, `aws:PrincipalType`,
/// `aws:username` (users), `aws:CurrentTime` and `aws:EpochTime`.
pub fn caller_context(identity: &Identity, secure: bool, now: OffsetDateTime) -> ContextKeys {
    let mut ctx = ContextKeys::new();
    ctx.set("aws:SecureTransport", secure.to_string());
    ctx.set("aws:PrincipalArn", identity.caller.principal_arn.clone());
    ctx.set("aws:PrincipalAccount", identity.caller.account.clone());
    ctx.set("aws:userid", identity.user_id.clone());
    ctx.set(
        "aws:PrincipalType",
        match identity.kind {
            PrincipalKind::User => "User",
            PrincipalKind::Role => "AssumedRole",
        },
    );
    if identity.kind == PrincipalKind::User {
        ctx.set("aws:username", identity.name.clone());
    }
    ctx.set("aws:CurrentTime", now.format(&Rfc3339).unwrap_or_default());
    ctx.set("aws:EpochTime", now.unix_timestamp().to_string());
    ctx
}

/// The error code a JSON-protocol service (CloudTrail, the admin API) answers an
/// authentication failure with.
pub fn json_auth_code(e: &AuthError) -> &'static str {
    match e {
        AuthError::Missing => "MissingAuthenticationTokenException",
        AuthError::Malformed(_) => "IncompleteSignatureException",
        AuthError::UnknownAccessKey(_) => "UnrecognizedClientException",
        AuthError::ExpiredToken => "ExpiredTokenException",
        _ => "InvalidSignatureException",
    }
}

/// The error code a Query-protocol service (STS, IAM) answers an authentication failure with.
pub fn query_auth_code(e: &AuthError) -> &'static str {
    match e {
        AuthError::Missing => "MissingAuthenticationToken",
        AuthError::Malformed(_) => "IncompleteSignature",
        AuthError::UnknownAccessKey(_) => "InvalidClientTokenId",
        AuthError::ExpiredToken => "ExpiredToken",
        _ => "SignatureDoesNotMatch",
    }
}
