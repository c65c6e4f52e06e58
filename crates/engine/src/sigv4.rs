//! Verification of AWS Signature Version 4 on incoming requests.
//!
//! Signing crates sign; none verifies a request a client signed with its own choice of signed
//! headers, so the canonical request and string to sign are rebuilt here from the request as
//! received, and `aws-sigv4` derives the signing key and computes the signature. Covers the
//! `Authorization` header form (all that AWS SDKs and the CLI send to KMS); presigned query
//! strings and S3 chunked payload signatures are not handled here yet.

use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;

/// How far a request's signing time may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub date: String,
    /// The region from the credential scope.
    pub region: String,
    /// The service from the credential scope.
    pub service: String,
    /// Lower-case signed header names, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// Why a request's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header at all.
    #[error("Missing Authentication Token")]
    Missing,
    /// The header is there but cannot be read.
    #[error("{0}")]
    Malformed(String),
    /// The access key id is not one of the lab identities, or its session token is wrong.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey(String),
    /// The session token belongs to a session that has expired on the engine's clock.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// The signature does not match.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
    /// The request was signed too long before or after the server's time.
    #[error("{0}")]
    Skewed(String),
    /// The credential scope names another region or service.
    #[error("{0}")]
    WrongScope(String),
}

impl AuthorizationHeader {
    /// Parses the `Authorization` header of a request.
    pub fn from_headers(headers: &HeaderMap) -> Result<AuthorizationHeader, AuthError> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Err(AuthError::Missing);
        };
        let value = value.to_str().map_err(|_| {
            AuthError::Malformed("The Authorization header is not valid ASCII.".into())
        })?;
        let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
            return Err(AuthError::Malformed(
                "Authorization header requires the AWS4-HMAC-SHA256 algorithm (Signature Version 4).".into(),
            ));
        };
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let missing = |name: &str| {
            AuthError::Malformed(format!("Authorization header requires '{name}' parameter."))
        };
        let credential = credential.ok_or_else(|| missing("Credential"))?;
        let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| missing("Signature"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        if scope.len() != 5 || scope[4] != "aws4_request" {
            return Err(AuthError::Malformed(format!(
                "Credential should be scoped to a valid region, not '{credential}'. The form is <key id>/<YYYYMMDD>/<region>/<service>/aws4_request."
            )));
        }
        Ok(AuthorizationHeader {
            access_key_id: scope[0].to_string(),
            date: scope[1].to_string(),
            region: scope[2].to_string(),
            service: scope[3].to_string(),
            signed_headers: signed.split(';').map(|h| h.to_ascii_lowercase()).collect(),
            signature: signature.to_string(),
        })
    }
}

/// The parts of a received request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub path: &'a str,
    /// The query string as received, without `?`.
    pub query: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a [u8],
}

const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// Parses an `X-Amz-Date` value such as `20260101T120000Z`.
pub fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(value, AMZ_DATE)
        .ok()
        .map(|t| t.assume_utc())
}

/// Formats a time as an `X-Amz-Date` value.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    t.format(AMZ_DATE).unwrap_or_default()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes as SigV4 requires: everything but unreserved characters, upper-case hex.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub fn percent_decode(input: &str) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = Vec::new();
    for value in headers.get_all(name) {
        let text = String::from_utf8_lossy(value.as_bytes());
        values.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    (!values.is_empty()).then(|| values.join(","))
}

/// Builds the canonical request (step 1 of SigV4). `single_encode_path` is true for S3, which
/// signs the path encoded once; other services sign it encoded twice.
pub fn canonical_request(
    req: &ReceivedRequest,
    auth: &AuthorizationHeader,
    single_encode_path: bool,
) -> Result<String, AuthError> {
    let path = if req.path.is_empty() { "/" } else { req.path };
    let canonical_uri = if single_encode_path {
        uri_encode(&percent_decode(path), true)
    } else {
        uri_encode(path.as_bytes(), true)
    };
    let mut headers = String::new();
    for name in &auth.signed_headers {
        let value = canonical_header_value(req.headers, name).ok_or_else(|| {
            AuthError::Malformed(format!(
                "The header '{name}' is listed in SignedHeaders but is not in the request."
            ))
        })?;
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value);
        headers.push('\n');
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::Malformed(
            "'Host' must be a signed header.".into(),
        ));
    }
    let payload_hash = hex::encode(Sha256::digest(req.body));
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri,
        canonical_query(req.query),
        headers,
        auth.signed_headers.join(";"),
        payload_hash
    ))
}

/// The first step: the scope names this region and service, and the request was signed
/// within [`MAX_SKEW`] of `now` (the real time, never the lab's virtual clock: clients sign with
/// the real one). Returns the `X-Amz-Date` for [`verify_signature`].
pub fn check_scope(
    headers: &HeaderMap,
    auth: &AuthorizationHeader,
    expected_region: &str,
    expected_service: &str,
    now: SystemTime,
) -> Result<String, AuthError> {
    if auth.service != expected_service {
        return Err(AuthError::WrongScope(format!(
            "Credential should be scoped to correct service: '{expected_service}'."
        )));
    }
    if auth.region != expected_region {
        return Err(AuthError::WrongScope(format!(
            "Credential should be scoped to a valid region. This endpoint serves '{expected_region}', not '{}'.",
            auth.region
        )));
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AuthError::Malformed("The request must contain the header 'X-Amz-Date'.".into())
        })?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        AuthError::Malformed(format!(
            "X-Amz-Date '{amz_date}' is not of the form YYYYMMDDTHHMMSSZ."
        ))
    })?;
    if !amz_date.starts_with(&auth.date) {
        return Err(AuthError::Malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'.",
            auth.date,
            &amz_date[..8.min(amz_date.len())]
        )));
    }
    let now_dt = OffsetDateTime::from(now);
    let skew = time::Duration::try_from(MAX_SKEW).unwrap_or(time::Duration::minutes(15));
    if signed_at < now_dt - skew {
        return Err(AuthError::Skewed(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            amz_date,
            format_amz_date(now_dt - skew),
            format_amz_date(now_dt)
        )));
    }
    if signed_at > now_dt + skew {
        return Err(AuthError::Skewed(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            amz_date,
            format_amz_date(now_dt + skew),
            format_amz_date(now_dt)
        )));
    }
    Ok(amz_date.to_string())
}

/// The second step: the signature over the request as received (its body hashed here) with
/// the secret of its access key.
pub fn verify_signature(
    req: &ReceivedRequest,
    auth: &AuthorizationHeader,
    secret: &str,
    amz_date: &str,
) -> Result<(), AuthError> {
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| AuthError::Malformed(format!("X-Amz-Date '{amz_date}' is not valid.")))?;
    let canonical = canonical_request(req, auth, auth.service == "s3")?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = generate_signing_key(
        secret,
        SystemTime::from(signed_at),
        &auth.region,
        &auth.service,
    );
    let expected = calculate_signature(key, string_to_sign.as_bytes());
    if expected.as_bytes().ct_eq(auth.signature.as_bytes()).into() {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

/// Both steps at once, for a request already read whole.
pub fn verify(
    req: &ReceivedRequest,
    auth: &AuthorizationHeader,
    secret: &str,
    expected_region: &str,
    expected_service: &str,
    now: SystemTime,
) -> Result<(), AuthError> {
    let amz_date = check_scope(req.headers, auth, expected_region, expected_service, now)?;
    verify_signature(req, auth, secret, &amz_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `get-vanilla` case of AWS's SigV4 test suite (service "service", region us-east-1,
    /// secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30T12:36:00Z).
    #[test]
    fn verifies_the_aws_test_suite_vanilla_get() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        let req = ReceivedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let auth = AuthorizationHeader::from_headers(&headers).unwrap();
        let now = SystemTime::from(parse_amz_date("20150830T123600Z").unwrap());
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            verify(&req, &auth, secret, "us-east-1", "service", now),
            Ok(())
        );
        assert_eq!(
            verify(&req, &auth, "wrong", "us-east-1", "service", now),
            Err(AuthError::SignatureMismatch)
        );
        let later = now + Duration::from_secs(16 * 60);
        assert!(matches!(
            verify(&req, &auth, secret, "us-east-1", "service", later),
            Err(AuthError::Skewed(_))
        ));
        assert!(matches!(
            verify(&req, &auth, secret, "eu-west-1", "service", now),
            Err(AuthError::WrongScope(_))
        ));
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("k=a%20b"), "k=a%20b");
    }

    #[test]
    fn percent_decode_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb%zz%"), b"a/b%zz%".to_vec());
    }
}
