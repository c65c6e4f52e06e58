//! `UpdateObjectEncryption` (`PUT /<bucket>/<key>?encryption`): changes how an existing object
//! is encrypted at rest without rewriting its body, as S3 does it: the object's data key is
//! opened (unsealed for SSE-S3, KMS `Decrypt` as the requester for SSE-KMS) and wrapped again
//! under the requested customer managed key with KMS `Encrypt` as the requester
//! (`kms:ViaService` is S3, the context `aws:s3:arn` the object's or, with a bucket key, the
//! bucket's ARN). The body, ETag, size, metadata and dates stay. As in AWS: only SSE-KMS can be
//! asked for, by full key ARN, of a key in the bucket owner's account; unencrypted, SSE-C and
//! DSSE-KMS objects are refused; the requester needs `s3:PutObject` and
//! `s3:UpdateObjectEncryption` (plus the KMS permissions). Served as an `s3s` route because
//! `s3s` 0.14 predates the operation (November 2025).

use std::sync::{Arc, RwLock};

use http::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use zeroize::Zeroizing;

use super::access::{AccessRequest, PolicyAccess};
use super::blocked::is_encryption_request;
use super::model::{ObjectEncryption, S3State};
use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::connection::Connection;
use crate::identity::IdentitySet;
use crate::kms::Kms;
use crate::kms::types::EncryptInput;
use crate::state::StateStore;

/// What the route needs of the engine.
pub struct ObjectEncryptionRoute {
    /// The S3 state.
    pub state: Arc<RwLock<S3State>>,
    /// Where the state is saved and SSE-S3 keys are sealed.
    pub store: Arc<StateStore>,
    /// The authorizer.
    pub access: PolicyAccess,
    /// The engine's KMS, called as the requester.
    pub kms: Arc<Kms>,
    /// The lab identities, to find the requester.
    pub identities: Arc<IdentitySet>,
    /// The audit log, for the KMS calls.
    pub audit: Arc<AuditLog>,
    /// The engine clock.
    pub clock: Arc<Clock>,
    /// The region served.
    pub region: String,
}

/// The bucket and key of a path-style object URI.
fn bucket_and_key(uri: &Uri) -> Option<(String, String)> {
    let path = uri.path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/')?;
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    let key = String::from_utf8(crate::sigv4::percent_decode(key)).ok()?;
    Some((bucket.to_string(), key))
}

fn invalid(message: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, message.to_string())
}

fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim())
}

/// The requested encryption: the key ARN and whether to use a bucket key.
#[derive(Debug, PartialEq, Eq)]
pub struct Requested {
    /// The customer managed key's ARN.
    pub key_arn: String,
    /// `BucketKeyEnabled`.
    pub bucket_key: bool,
}

/// Parses the `ObjectEncryption` body with S3's refusals.
pub fn parse(xml: &[u8]) -> S3Result<Requested> {
    let text = std::str::from_utf8(xml)
        .map_err(|_| S3Error::with_message(S3ErrorCode::MalformedXML, "The body is not UTF-8."))?;
    let Some(sse_kms) = tag(text, "SSE-KMS") else {
        return Err(invalid(
            "The UpdateObjectEncryption operation only supports updating the encryption type to SSE-KMS: give ObjectEncryption with SSE-KMS.",
        ));
    };
    let key_arn = tag(sse_kms, "KMSKeyArn").unwrap_or_default();
    let well_formed = key_arn.starts_with("arn:aws")
        && key_arn.split(':').nth(2) == Some("kms")
        && key_arn
            .split(':')
            .nth(4)
            .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        && key_arn
            .split(':')
            .nth(5)
            .is_some_and(|r| r.starts_with("key/") && r.len() > 4);
    if !well_formed {
        return Err(invalid(
            "You must specify the full AWS KMS key ARN in KMSKeyArn. The KMS key ID and KMS key alias aren't supported.",
        ));
    }
    let bucket_key = match tag(sse_kms, "BucketKeyEnabled") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(S3Error::with_message(
                S3ErrorCode::MalformedXML,
                "BucketKeyEnabled must be true or false.",
            ));
        }
    };
    Ok(Requested {
        key_arn: key_arn.to_string(),
        bucket_key,
    })
}

#[async_trait::async_trait]
impl S3Route for ObjectEncryptionRoute {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        _headers: &HeaderMap,
        _extensions: &mut http::Extensions,
    ) -> bool {
        *method == Method::PUT && is_encryption_request(uri) && bucket_and_key(uri).is_some()
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        let (bucket, key) = bucket_and_key(&req.uri).unwrap_or_default();
        for operation in ["PutObject", "UpdateObjectEncryption"] {
            self.access.authorize(&AccessRequest {
                operation,
                bucket: Some(&bucket),
                key: Some(&key),
                upload_id: None,
                copy_source: false,
                credentials: req.credentials.as_ref(),
                headers: &req.headers,
                extensions: &req.extensions,
            })?;
        }
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let (bucket, key) = bucket_and_key(&req.uri).unwrap_or_default();
        let access_key = req
            .credentials
            .as_ref()
            .map(|c| c.access_key.as_str())
            .unwrap_or_default();
        let identity = self.identities.by_access_key(access_key).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::AccessDenied, "Anonymous requests are refused.")
        })?;
        let conn = req.extensions.get::<Connection>().cloned();
        let mut body = req.input;
        let bytes = body
            .store_all_limited(16 * 1024)
            .await
            .map_err(|e| S3Error::with_message(S3ErrorCode::MalformedXML, e.to_string()))?;
        let requested = parse(&bytes)?;
        let (owner, encryption) = {
            let state = self.state.read().expect("s3 lock");
            let b = state.buckets.get(&bucket).ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::NoSuchBucket,
                    "The specified bucket does not exist",
                )
            })?;
            let object = b.objects.get(&key).ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
            })?;
            (b.account.clone(), object.encryption.clone())
        };
        if requested.key_arn.split(':').nth(4) != Some(owner.as_str()) {
            return Err(invalid(
                "The KMS key must be owned by the bucket owner's AWS account.",
            ));
        }
        let call = || super::requester_call(&identity, conn.as_ref(), &self.region);
        let data_key: Zeroizing<Vec<u8>> = match &encryption {
            ObjectEncryption::S3 { sealed_key } => self
                .store
                .open_sealed("sse-s3", sealed_key)
                .ok_or_else(|| {
                    S3Error::with_message(
                        S3ErrorCode::InternalError,
                        "The object's data key cannot be unsealed.",
                    )
                })?,
            ObjectEncryption::Kms {
                algorithm,
                blob,
                context,
                ..
            } if algorithm == "aws:kms" => {
                super::decrypt_data_key(&self.kms, &self.audit, &self.clock, call(), blob, context)?
            }
            _ => {
                return Err(invalid(
                    "The UpdateObjectEncryption operation doesn't support source objects with the encryption type DSSE-KMS or SSE-C. Only source objects encrypted with SSE-S3 or SSE-KMS are supported.",
                ));
            }
        };
        let arn = if requested.bucket_key {
            super::bucket_arn(&bucket)
        } else {
            super::object_arn(&bucket, &key)
        };
        let context = std::collections::BTreeMap::from([("aws:s3:arn".to_string(), arn)]);
        let mut kms_call = call();
        self.kms.tick();
        let result = self.kms.encrypt(
            &mut kms_call,
            EncryptInput {
                key_id: requested.key_arn.clone(),
                plaintext: data_key,
                encryption_context: Some(context.clone()),
                grant_tokens: None,
                encryption_algorithm: None,
                dry_run: None,
            },
        );
        crate::kms::record_call(&self.audit, &self.clock, "Encrypt", kms_call, &result);
        let out = result.map_err(super::kms_error)?;
        let mut state = self.state.write().expect("s3 lock");
        let object = state
            .buckets
            .get_mut(&bucket)
            .and_then(|b| b.objects.get_mut(&key))
            .ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
            })?;
        if object.encryption != encryption {
            return Err(S3Error::with_message(
                S3ErrorCode::OperationAborted,
                "The object changed while its encryption was updated: try again.",
            ));
        }
        object.encryption = ObjectEncryption::Kms {
            algorithm: "aws:kms".into(),
            key_arn: out.key_id,
            blob: out.ciphertext_blob.to_vec(),
            context,
            bucket_key: requested.bucket_key,
            outer_key: None,
        };
        super::persist(&self.store, &state, &bucket, &[super::Record::Object(&key)])?;
        Ok(S3Response::new(Body::empty()))
    }
}

/// The engine's `s3s` routes: bucket default encryption and `UpdateObjectEncryption`.
pub struct EngineRoutes {
    /// `?encryption` on a bucket.
    pub bucket: super::blocked::BucketEncryptionRoute,
    /// `?encryption` on an object.
    pub object: ObjectEncryptionRoute,
}

#[async_trait::async_trait]
impl S3Route for EngineRoutes {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &mut http::Extensions,
    ) -> bool {
        self.bucket.is_match(method, uri, headers, extensions)
            || self.object.is_match(method, uri, headers, extensions)
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        if bucket_and_key(&req.uri).is_some() {
            self.object.check_access(req).await
        } else {
            self.bucket.check_access(req).await
        }
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        if bucket_and_key(&req.uri).is_some() {
            self.object.call(req).await
        } else {
            self.bucket.call(req).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sse_kms_by_full_key_arn_is_accepted() {
        let ok = parse(b"<ObjectEncryption><SSE-KMS><KMSKeyArn>arn:aws:kms:us-east-1:111122223333:key/abc</KMSKeyArn><BucketKeyEnabled>true</BucketKeyEnabled></SSE-KMS></ObjectEncryption>").unwrap();
        assert_eq!(
            ok,
            Requested {
                key_arn: "arn:aws:kms:us-east-1:111122223333:key/abc".into(),
                bucket_key: true
            }
        );
        let alias = parse(b"<ObjectEncryption><SSE-KMS><KMSKeyArn>alias/x</KMSKeyArn></SSE-KMS></ObjectEncryption>").unwrap_err();
        assert_eq!(alias.code().as_str(), "InvalidRequest");
        assert!(alias.message().unwrap_or_default().contains("full"));
        assert!(parse(b"<ObjectEncryption></ObjectEncryption>").is_err());
        assert_eq!(
            bucket_and_key(&"/b/a%20b.csv?encryption".parse().unwrap()),
            Some(("b".into(), "a b.csv".into()))
        );
        assert_eq!(bucket_and_key(&"/b?encryption".parse().unwrap()), None);
    }
}
