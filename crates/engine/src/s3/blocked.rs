//! Bucket default encryption (`PutBucketEncryption`, `GetBucketEncryption`,
//! `DeleteBucketEncryption`), served as an `s3s` custom route rather than through its typed
//! operations: the `s3s` release this toolchain can build (0.14) predates
//! `BlockedEncryptionTypes` (April 2026: new buckets block SSE-C until this rule unblocks it)
//! and refuses the element, and the SDKs sign the body with a checksum, so it cannot be edited
//! on the way. `s3s` still authenticates the request; [`PolicyAccess`] authorizes it.

use std::sync::{Arc, RwLock};

use http::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use super::access::{AccessRequest, PolicyAccess};
use super::model::{DefaultEncryption, S3State};
use crate::state::StateStore;

/// True for `?encryption` requests on a bucket.
pub fn is_encryption_request(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "encryption" || p.starts_with("encryption="))
    })
}

/// The bucket named by a path-style URI.
pub fn bucket_of(uri: &Uri) -> Option<&str> {
    uri.path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|b| !b.is_empty())
}

fn malformed(detail: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedXML,
        format!(
            "The XML you provided was not well-formed or did not validate against our published schema: {detail}"
        ),
    )
}

fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A parsed `ServerSideEncryptionConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// The default encryption.
    pub default: DefaultEncryption,
    /// The blocked encryption types, when the rule names them.
    pub blocked: Option<Vec<String>>,
}

/// Parses and validates a PutBucketEncryption body with AWS's errors.
pub fn parse(xml: &[u8]) -> S3Result<Configuration> {
    let text = std::str::from_utf8(xml).map_err(|_| malformed("the body is not UTF-8"))?;
    if text.matches("<Rule>").count() != 1 {
        return Err(malformed("give exactly one Rule"));
    }
    let rule = tag(text, "Rule").ok_or_else(|| malformed("the Rule is not closed"))?;
    let default = tag(rule, "ApplyServerSideEncryptionByDefault")
        .ok_or_else(|| malformed("ApplyServerSideEncryptionByDefault is missing"))?;
    let algorithm =
        tag(default, "SSEAlgorithm").ok_or_else(|| malformed("SSEAlgorithm is missing"))?;
    if !matches!(algorithm, "AES256" | "aws:kms" | "aws:kms:dsse") {
        return Err(malformed(
            "SSEAlgorithm must be AES256, aws:kms or aws:kms:dsse",
        ));
    }
    let kms_key_id = tag(default, "KMSMasterKeyID").map(str::to_string);
    if algorithm == "AES256" && kms_key_id.is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
        ));
    }
    let bucket_key_enabled = match tag(rule, "BucketKeyEnabled") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(malformed("BucketKeyEnabled must be true or false")),
    };
    let blocked = match tag(rule, "BlockedEncryptionTypes") {
        None => None,
        Some(inner) => {
            let mut types = Vec::new();
            for piece in inner.split("<EncryptionType>").skip(1) {
                let value = piece
                    .split("</EncryptionType>")
                    .next()
                    .unwrap_or_default()
                    .trim();
                if value != "SSE-C" && value != "NONE" {
                    return Err(malformed("EncryptionType must be SSE-C or NONE"));
                }
                types.push(value.to_string());
            }
            Some(types)
        }
    };
    Ok(Configuration {
        default: DefaultEncryption {
            algorithm: algorithm.to_string(),
            kms_key_id,
            bucket_key_enabled,
        },
        blocked,
    })
}

/// The GetBucketEncryption body for a bucket.
pub fn render(default: &DefaultEncryption, sse_c_blocked: bool) -> String {
    let key = default
        .kms_key_id
        .as_deref()
        .map(|k| format!("<KMSMasterKeyID>{}</KMSMasterKeyID>", escape(k)))
        .unwrap_or_default();
    let blocked = if sse_c_blocked { "SSE-C" } else { "NONE" };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>{}</SSEAlgorithm>{key}</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>{}</BucketKeyEnabled><BlockedEncryptionTypes><EncryptionType>{blocked}</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>",
        escape(&default.algorithm),
        default.bucket_key_enabled
    )
}

/// The route serving the three bucket-encryption operations.
pub struct BucketEncryptionRoute {
    /// The S3 state.
    pub state: Arc<RwLock<S3State>>,
    /// Where the state is saved.
    pub store: Arc<StateStore>,
    /// The authorizer.
    pub access: PolicyAccess,
}

fn operation(method: &Method) -> &'static str {
    match *method {
        Method::PUT => "PutBucketEncryption",
        Method::DELETE => "DeleteBucketEncryption",
        _ => "GetBucketEncryption",
    }
}

#[async_trait::async_trait]
impl S3Route for BucketEncryptionRoute {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        _headers: &HeaderMap,
        _extensions: &mut http::Extensions,
    ) -> bool {
        let bucket_only = uri
            .path()
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .count()
            == 1;
        matches!(*method, Method::GET | Method::PUT | Method::DELETE)
            && bucket_only
            && bucket_of(uri).is_some()
            && is_encryption_request(uri)
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        let bucket = bucket_of(&req.uri).map(str::to_string);
        self.access.authorize(&AccessRequest {
            operation: operation(&req.method),
            bucket: bucket.as_deref(),
            key: None,
            upload_id: None,
            copy_source: false,
            credentials: req.credentials.as_ref(),
            headers: &req.headers,
            extensions: &req.extensions,
        })
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let bucket = bucket_of(&req.uri).unwrap_or_default().to_string();
        let no_bucket = || {
            S3Error::with_message(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist",
            )
        };
        if req.method == Method::GET {
            let state = self.state.read().expect("s3 lock");
            let b = state.buckets.get(&bucket).ok_or_else(no_bucket)?;
            let mut response = S3Response::new(Body::from(render(&b.encryption, b.sse_c_blocked)));
            response.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/xml"),
            );
            return Ok(response);
        }
        let config = if req.method == Method::PUT {
            let mut body = req.input;
            let bytes = body
                .store_all_limited(64 * 1024)
                .await
                .map_err(|e| malformed(&format!("the body could not be read ({e})")))?;
            Some(parse(&bytes)?)
        } else {
            None
        };
        let mut state = self.state.write().expect("s3 lock");
        let b = state.buckets.get_mut(&bucket).ok_or_else(no_bucket)?;
        match config {
            Some(config) => {
                b.encryption = config.default;
                if let Some(blocked) = config.blocked {
                    b.sse_c_blocked = blocked.iter().any(|t| t == "SSE-C");
                }
            }
            None => b.encryption = DefaultEncryption::default(),
        }
        super::persist(&self.store, &state, &bucket, &[super::Record::Bucket])?;
        let status = if req.method == Method::DELETE {
            ::http::StatusCode::NO_CONTENT
        } else {
            ::http::StatusCode::OK
        };
        Ok(S3Response::with_status(Body::empty(), status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_configurations() {
        let body = b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled><BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>";
        let c = parse(body).unwrap();
        assert_eq!(
            c.default,
            DefaultEncryption {
                algorithm: "aws:kms".into(),
                kms_key_id: Some("arn:k".into()),
                bucket_key_enabled: true
            }
        );
        assert_eq!(c.blocked, Some(vec!["NONE".to_string()]));
        let code = |b: &[u8]| parse(b).unwrap_err().code().as_str().to_string();
        assert_eq!(
            code(b"<ServerSideEncryptionConfiguration></ServerSideEncryptionConfiguration>"),
            "MalformedXML"
        );
        assert_eq!(code(b"<X><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES128</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></X>"), "MalformedXML");
        assert_eq!(
            code(b"<X><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></X>"),
            "InvalidArgument"
        );
        let xml = render(&c.default, true);
        assert!(
            xml.contains("<KMSMasterKeyID>arn:k</KMSMasterKeyID>")
                && xml.contains("<EncryptionType>SSE-C</EncryptionType>")
        );
        assert!(is_encryption_request(&"/b?encryption".parse().unwrap()));
        assert_eq!(bucket_of(&"/b/k".parse().unwrap()), Some("b"));
    }
}
