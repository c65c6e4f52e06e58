//! What S3 checks of a request's authentication before `s3s` verifies its signature, where
//! `s3s` is more lenient than AWS: Signature Version 2 is refused (AWS refuses it on buckets
//! created since June 2020 and in every Region opened since 2014), the credential scope must
//! name this Region and the service `s3`, every `x-amz-*` header sent must be signed, and a
//! presigned URL may live at most seven days (604,800 seconds), as AWS documents
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>).

use http::HeaderMap;
use http::request::Parts;

use crate::sigv4::{AuthError, AuthorizationHeader};

/// The longest a presigned URL may be valid, in seconds.
pub const MAX_PRESIGNED_SECONDS: u64 = 604_800;

/// A refusal, with S3's status, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// S3's error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    /// The XML error body S3 sends.
    pub fn body(&self, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
            self.code,
            xml_escape(&self.message),
            xml_escape(request_id)
        )
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const V2_REFUSED: &str =
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.";

/// The query parameters of a request, decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode =
                |s: &str| String::from_utf8_lossy(&crate::sigv4::percent_decode(s)).into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

/// Checks a request's authentication as AWS does before the signature itself.
pub fn check(parts: &Parts, region: &str) -> Result<(), Refusal> {
    let query = query_pairs(parts.uri.query().unwrap_or_default());
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some(value) = parts.headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        if value.starts_with("AWS ") {
            return Err(Refusal::new(400, "InvalidRequest", V2_REFUSED));
        }
        let auth = AuthorizationHeader::from_headers(&parts.headers).map_err(malformed)?;
        scope(&auth.region, &auth.service, region)?;
        return signed_headers(&parts.headers, &auth.signed_headers);
    }
    if param("AWSAccessKeyId").is_some() || param("Signature").is_some() {
        return Err(Refusal::new(400, "InvalidRequest", V2_REFUSED));
    }
    let Some(algorithm) = param("X-Amz-Algorithm") else {
        return Ok(());
    };
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(Refusal::new(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let expires = param("X-Amz-Expires")
        .and_then(|e| e.parse::<u64>().ok())
        .ok_or_else(|| {
            Refusal::new(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Expires should be a number",
            )
        })?;
    if expires > MAX_PRESIGNED_SECONDS {
        return Err(Refusal::new(
            400,
            "AuthorizationQueryParametersError",
            format!(
                "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_SECONDS}"
            ),
        ));
    }
    let credential = param("X-Amz-Credential").unwrap_or_default();
    let parts_of: Vec<&str> = credential.split('/').collect();
    if parts_of.len() != 5 || parts_of[4] != "aws4_request" {
        return Err(Refusal::new(
            400,
            "AuthorizationQueryParametersError",
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
        ));
    }
    scope(parts_of[2], parts_of[3], region)?;
    let signed: Vec<String> = param("X-Amz-SignedHeaders")
        .unwrap_or_default()
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    signed_headers(&parts.headers, &signed)
}

fn malformed(e: AuthError) -> Refusal {
    Refusal::new(400, "AuthorizationHeaderMalformed", e.to_string())
}

fn scope(scope_region: &str, service: &str, region: &str) -> Result<(), Refusal> {
    if scope_region != region {
        return Err(Refusal::new(
            400,
            "AuthorizationHeaderMalformed",
            format!(
                "The authorization header is malformed; the region '{scope_region}' is wrong; expecting '{region}'"
            ),
        ));
    }
    if service != "s3" {
        return Err(Refusal::new(
            400,
            "AuthorizationHeaderMalformed",
            format!(
                "The authorization header is malformed; incorrect service \"{service}\". This endpoint belongs to \"s3\"."
            ),
        ));
    }
    Ok(())
}

/// Every `x-amz-*` header of the request, and `host`, is among the signed headers.
fn signed_headers(headers: &HeaderMap, signed: &[String]) -> Result<(), Refusal> {
    let unsigned: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| name.starts_with("x-amz-") || *name == "host")
        .filter(|name| !signed.iter().any(|s| s == name))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        403,
        "AccessDenied",
        format!(
            "There were headers present in the request which were not signed: {}",
            unsigned.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc";

    #[test]
    fn aws_rules_before_the_signature() {
        let ok = parts(
            "/b/k",
            &[
                ("host", "h"),
                ("x-amz-date", "d"),
                ("x-amz-content-sha256", "x"),
                ("authorization", AUTH),
            ],
        );
        assert_eq!(check(&ok, "us-east-1"), Ok(()));
        let unsigned = parts(
            "/b/k",
            &[
                ("host", "h"),
                ("x-amz-date", "d"),
                ("x-amz-content-sha256", "x"),
                ("x-amz-copy-source", "s/secret"),
                ("authorization", AUTH),
            ],
        );
        let e = check(&unsigned, "us-east-1").unwrap_err();
        assert_eq!((e.status, e.code), (403, "AccessDenied"));
        assert!(e.message.contains("x-amz-copy-source"));
        let v2 = parts(
            "/b/k",
            &[
                ("authorization", "AWS AKID:sig"),
                ("date", "Mon, 01 Jan 2001 00:00:00 GMT"),
            ],
        );
        assert_eq!(check(&v2, "us-east-1").unwrap_err().code, "InvalidRequest");
        let v2_url = parts(
            "/b/k?AWSAccessKeyId=AKID&Expires=4102444800&Signature=x",
            &[],
        );
        assert_eq!(
            check(&v2_url, "us-east-1").unwrap_err().code,
            "InvalidRequest"
        );
        let long = parts(
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=999999999&X-Amz-SignedHeaders=host&X-Amz-Signature=x",
            &[("host", "h")],
        );
        assert_eq!(
            check(&long, "us-east-1").unwrap_err().code,
            "AuthorizationQueryParametersError"
        );
        let sts = parts(
            "/b/k",
            &[
                ("host", "h"),
                ("x-amz-date", "d"),
                ("x-amz-content-sha256", "x"),
                ("authorization", &AUTH.replace("/s3/", "/sts/")),
            ],
        );
        assert!(
            check(&sts, "us-east-1")
                .unwrap_err()
                .message
                .contains("incorrect service")
        );
        let region = parts(
            "/b/k",
            &[
                ("host", "h"),
                ("x-amz-date", "d"),
                ("x-amz-content-sha256", "x"),
                ("authorization", &AUTH.replace("us-east-1", "eu-west-1")),
            ],
        );
        assert!(
            check(&region, "us-east-1")
                .unwrap_err()
                .message
                .contains("region 'eu-west-1' is wrong")
        );
    }
}
