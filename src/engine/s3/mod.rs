//! The S3 service of the built-in engine. The REST-XML protocol (routing, XML, SigV4 with
//! streaming payloads) comes from the `s3s` crate; this module is the logic behind it: buckets,
//! objects really encrypted at rest, default bucket encryption, bucket policies, and SSE-KMS
//! that calls the engine's own KMS as the requester (`kms:ViaService`, the `aws:s3:arn`
//! encryption context, the key policy evaluated). [`access`] authorizes every request with the
//! same evaluator as KMS.
//!
//! SSE-C ([`sse_c`]) works over HTTPS only and is blocked on new buckets until
//! PutBucketEncryption unblocks it ([`blocked`]). Public access blocks are on for new buckets:
//! BlockPublicPolicy refuses public bucket policies and RestrictPublicBuckets keeps a public
//! policy from giving anything to other accounts (ACL settings are kept but ACLs are not
//! modelled). Versioning is a stored setting only: objects keep a single version. Not yet
//! served: multipart uploads, CopyObject and the AWS managed key `aws/s3` (a KMS request must
//! name a customer managed key).

pub mod access;
pub mod blocked;
pub mod model;
pub mod sse_c;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use rand::RngCore;
use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use zeroize::Zeroizing;

use self::model::{
    Bucket, DefaultEncryption, Object, ObjectEncryption, PublicAccessBlock, S3State,
};
use super::audit::{AuditEvent, AuditLog, UserIdentity};
use super::clock::Clock;
use super::identity::{Identity, IdentitySet};
use super::kms::error::KmsError;
use super::kms::types::{DecryptInput, GenerateDataKeyInput};
use super::kms::{Call, Kms};
use super::server::Connection;
use super::state::StateStore;
use crate::fsutil::write_atomic;
use crate::policy::{PolicyDocument, PolicyKind};

const STATE_NAME: &str = "s3";

/// Builds a GetObject or HeadObject output (two types with the same field names) from an
/// object, plus the extra fields given.
macro_rules! object_output {
    ($output:ident, $object:expr, { $($extra:tt)* }) => {{
        let object: &Object = $object;
        let mut output = $output {
            content_length: Some(object.size as i64),
            content_type: object.content_type.clone(),
            e_tag: Some(ETag::Strong(object.etag.clone())),
            last_modified: Some(timestamp(object.modified)),
            metadata: (!object.metadata.is_empty()).then(|| object.metadata.clone().into_iter().collect()),
            $($extra)*
            ..Default::default()
        };
        describe_encryption(
            &object.encryption,
            &mut output.server_side_encryption,
            &mut output.ssekms_key_id,
            &mut output.bucket_key_enabled,
        );
        describe_customer(&object.encryption, &mut output.sse_customer_algorithm, &mut output.sse_customer_key_md5);
        output
    }};
}
const STORED_WITH_SSE_C: &str = "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.";

/// The S3 service.
pub struct S3Engine {
    region: String,
    state: Arc<RwLock<S3State>>,
    store: Arc<StateStore>,
    kms: Arc<Kms>,
    identities: Arc<IdentitySet>,
    clock: Arc<Clock>,
    audit: Arc<AuditLog>,
}

impl std::fmt::Debug for S3Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Engine")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

fn error(code: S3ErrorCode, message: impl Into<String>) -> S3Error {
    S3Error::with_message(code, message.into())
}

/// An S3 error for a KMS failure, as S3 reports it: `KMS.<code>` with HTTP 400, or
/// `AccessDenied` (403) when KMS denied the requester.
pub fn kms_error(e: KmsError) -> S3Error {
    if e.code == "AccessDeniedException" {
        return error(S3ErrorCode::AccessDenied, e.message);
    }
    let mut err = error(
        S3ErrorCode::Custom(format!("KMS.{}", e.code).into()),
        e.message,
    );
    err.set_status_code(http::StatusCode::BAD_REQUEST);
    err
}

/// Saves the S3 state document (used by the service and the bucket-encryption route).
pub(crate) fn save_state(store: &StateStore, state: &S3State) -> S3Result<()> {
    store.save(STATE_NAME, state).map_err(|e| {
        error(
            S3ErrorCode::InternalError,
            format!("cannot save engine state: {e}"),
        )
    })
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

fn seal_body(data_key: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(data_key).expect("32-byte data key");
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    out
}

fn open_body(data_key: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < 12 + 16 {
        return None;
    }
    let cipher = Aes256Gcm::new_from_slice(data_key).ok()?;
    cipher
        .decrypt(
            Nonce::from_slice(&sealed[..12]),
            Payload {
                msg: &sealed[12..],
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from(
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
}

async fn read_body(body: Option<StreamingBlob>) -> S3Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    let Some(mut body) = body else { return Ok(out) };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            error(
                S3ErrorCode::IncompleteBody,
                format!("The request body could not be read: {e}"),
            )
        })?;
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl S3Engine {
    /// Opens the service, loading saved state.
    pub fn open(
        region: &str,
        store: Arc<StateStore>,
        kms: Arc<Kms>,
        identities: Arc<IdentitySet>,
        clock: Arc<Clock>,
        audit: Arc<AuditLog>,
    ) -> Result<S3Engine, super::state::StateError> {
        let mut state: S3State = store.load(STATE_NAME)?.unwrap_or_default();
        for bucket in state.buckets.values_mut() {
            bucket.policy_doc = bucket
                .policy
                .as_deref()
                .and_then(|p| PolicyDocument::parse(p, PolicyKind::Resource).ok())
                .map(Arc::new);
        }
        Ok(S3Engine {
            region: region.to_string(),
            state: Arc::new(RwLock::new(state)),
            store,
            kms,
            identities,
            clock,
            audit,
        })
    }

    fn save(&self, state: &S3State) -> S3Result<()> {
        save_state(&self.store, state)
    }

    /// The shared state, for the access checker.
    pub(crate) fn state_handle(&self) -> Arc<RwLock<S3State>> {
        self.state.clone()
    }

    fn caller<T>(&self, req: &S3Request<T>) -> S3Result<&Identity> {
        let access_key = req
            .credentials
            .as_ref()
            .map(|c| c.access_key.as_str())
            .unwrap_or_default();
        self.identities.by_access_key(access_key).ok_or_else(|| {
            error(
                S3ErrorCode::AccessDenied,
                "Anonymous requests are not accepted by the keylab engine.",
            )
        })
    }

    fn kms_call<'a, T>(&self, identity: &'a Identity, req: &S3Request<T>) -> Call<'a> {
        let conn = req.extensions.get::<Connection>();
        let mut call = Call::new(identity, conn.is_some_and(|c| c.secure));
        call.via_service = Some(format!("s3.{}.amazonaws.com", self.region));
        if let Some(c) = conn {
            call.source_ip = c.peer.ip().to_string();
        }
        call
    }

    /// Records a KMS call S3 made on the requester's behalf, as CloudTrail does.
    fn audit_kms_call<T>(&self, operation: &str, call: Call, result: &Result<T, KmsError>) {
        let identity = call.identity;
        let mut resources = call.notes.resources;
        resources.dedup();
        let (error_code, error_message) = match result {
            Ok(_) => (None, None),
            Err(e) => (Some(e.code.to_string()), Some(e.message.clone())),
        };
        self.audit.record(AuditEvent {
            event_time: self
                .clock
                .now()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            event_source: "kms.amazonaws.com".into(),
            event_name: operation.into(),
            request_id: uuid::Builder::from_random_bytes(rand::random())
                .into_uuid()
                .to_string(),
            secure_transport: call.secure_transport,
            user_identity: Some(UserIdentity::of(identity)),
            via_service: call.via_service,
            resources,
            encryption_context: call.notes.encryption_context,
            request_parameters: serde_json::Value::Null,
            decision: call
                .notes
                .allowed
                .map(|a| if a { "Allow" } else { "Deny" }.to_string()),
            trace: call.notes.denied.map(|d| Box::new(d.trace)),
            error_code,
            error_message,
        });
    }

    /// Finds an object for GetObject or HeadObject and checks the request's SSE-C headers
    /// against it.
    fn read_object<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        headers: sse_c::Headers<'_>,
    ) -> S3Result<(Object, Option<sse_c::CustomerKey>)> {
        let object = self.with_bucket(bucket, |b| {
            b.objects
                .get(key)
                .cloned()
                .ok_or_else(|| error(S3ErrorCode::NoSuchKey, "The specified key does not exist."))
        })?;
        let customer = self.check_customer_key(req, &object, headers)?;
        Ok((object, customer))
    }

    /// Checks the SSE-C headers of a read against the object: an SSE-C object needs its key,
    /// and only the right one (recognised by the salted HMAC) opens it.
    fn check_customer_key<T>(
        &self,
        req: &S3Request<T>,
        object: &Object,
        headers: sse_c::Headers<'_>,
    ) -> S3Result<Option<sse_c::CustomerKey>> {
        let secure = req.extensions.get::<Connection>().is_some_and(|c| c.secure);
        let ObjectEncryption::Customer { salt, mac, .. } = &object.encryption else {
            sse_c::from_headers(headers, secure)?;
            return Ok(None);
        };
        let Some(customer) = sse_c::from_headers(headers, secure)? else {
            return Err(error(S3ErrorCode::InvalidRequest, STORED_WITH_SSE_C));
        };
        if !sse_c::matches(&customer.key, salt, mac) {
            return Err(error(
                S3ErrorCode::AccessDenied,
                "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.",
            ));
        }
        Ok(Some(customer))
    }

    fn objects_dir(&self) -> std::path::PathBuf {
        self.store.dir().join("objects")
    }

    fn with_bucket<R>(&self, name: &str, f: impl FnOnce(&Bucket) -> S3Result<R>) -> S3Result<R> {
        let state = self.state.read().expect("s3 lock");
        let bucket = state.buckets.get(name).ok_or_else(|| {
            error(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist",
            )
        })?;
        f(bucket)
    }

    fn with_bucket_mut<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Bucket) -> S3Result<R>,
    ) -> S3Result<R> {
        let mut state = self.state.write().expect("s3 lock");
        let bucket = state.buckets.get_mut(name).ok_or_else(|| {
            error(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist",
            )
        })?;
        let out = f(bucket)?;
        self.save(&state)?;
        Ok(out)
    }

    /// Decrypts an object's body with its data key, calling KMS as the requester when needed.
    fn object_plaintext<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        object: &Object,
        customer: Option<&sse_c::CustomerKey>,
    ) -> S3Result<Zeroizing<Vec<u8>>> {
        let identity = self.caller(req)?;
        let data_key: Zeroizing<Vec<u8>> = match &object.encryption {
            ObjectEncryption::Customer { .. } => customer
                .map(|c| c.key.clone())
                .ok_or_else(|| error(S3ErrorCode::InvalidRequest, STORED_WITH_SSE_C))?,
            ObjectEncryption::S3 { sealed_key } => self
                .store
                .open_sealed("sse-s3", sealed_key)
                .ok_or_else(|| {
                    error(
                        S3ErrorCode::InternalError,
                        "The object's data key cannot be unsealed.",
                    )
                })?,
            ObjectEncryption::Kms { blob, context, .. } => {
                let mut call = self.kms_call(identity, req);
                let input = DecryptInput {
                    ciphertext_blob: Zeroizing::new(blob.clone()),
                    encryption_context: Some(context.clone()),
                    grant_tokens: None,
                    key_id: None,
                    encryption_algorithm: None,
                    dry_run: None,
                };
                self.kms.tick();
                let result = self.kms.decrypt(&mut call, input);
                self.audit_kms_call("Decrypt", call, &result);
                result.map_err(kms_error)?.plaintext
            }
        };
        let sealed = std::fs::read(self.objects_dir().join(&object.file)).map_err(|e| {
            error(
                S3ErrorCode::InternalError,
                format!("The object body cannot be read: {e}"),
            )
        })?;
        open_body(&data_key, object_arn(bucket, key).as_bytes(), &sealed).ok_or_else(|| {
            error(
                S3ErrorCode::InternalError,
                "The object body failed authentication.",
            )
        })
    }
}

#[async_trait::async_trait]
impl S3 for S3Engine {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let account = self.caller(&req)?.caller.account.clone();
        let name = req.input.bucket.clone();
        let mut state = self.state.write().expect("s3 lock");
        if let Some(existing) = state.buckets.get(&name) {
            return Err(if existing.account == account {
                error(
                    S3ErrorCode::BucketAlreadyOwnedByYou,
                    "Your previous request to create the named bucket succeeded and you already own it.",
                )
            } else {
                error(
                    S3ErrorCode::BucketAlreadyExists,
                    "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
                )
            });
        }
        let bucket = Bucket {
            account,
            created: self.clock.now().unix_timestamp(),
            encryption: DefaultEncryption::default(),
            public_access_block: Some(model::PublicAccessBlock::all()),
            versioning: None,
            sse_c_blocked: true,
            policy: None,
            policy_doc: None,
            objects: BTreeMap::new(),
        };
        state.buckets.insert(name.clone(), bucket);
        self.save(&state)?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{name}")),
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let mut state = self.state.write().expect("s3 lock");
        let bucket = state.buckets.get(&req.input.bucket).ok_or_else(|| {
            error(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist",
            )
        })?;
        if !bucket.objects.is_empty() {
            return Err(error(
                S3ErrorCode::BucketNotEmpty,
                "The bucket you tried to delete is not empty",
            ));
        }
        state.buckets.remove(&req.input.bucket);
        self.save(&state)?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let region = self.region.clone();
        self.with_bucket(&req.input.bucket, |_| {
            Ok(S3Response::new(HeadBucketOutput {
                bucket_region: Some(region),
                ..Default::default()
            }))
        })
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let account = self.caller(&req)?.caller.account.clone();
        let state = self.state.read().expect("s3 lock");
        let buckets = state
            .buckets
            .iter()
            .filter(|(_, b)| b.account == account)
            .map(|(name, b)| s3s::dto::Bucket {
                name: Some(name.clone()),
                creation_date: Some(timestamp(b.created)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                id: Some(account.clone()),
                display_name: Some(account),
            }),
            ..Default::default()
        }))
    }

    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let identity = self.caller(&req)?;
        let input = &req.input;
        let secure = req.extensions.get::<Connection>().is_some_and(|c| c.secure);
        let customer = sse_c::from_headers(
            sse_c::Headers {
                algorithm: input.sse_customer_algorithm.as_deref(),
                key: input.sse_customer_key.as_deref(),
                key_md5: input.sse_customer_key_md5.as_deref(),
                sse: input.server_side_encryption.as_ref().map(|s| s.as_str()),
            },
            secure,
        )?;
        let (bucket_name, key) = (input.bucket.clone(), input.key.clone());
        let (default, sse_c_blocked) = self.with_bucket(&bucket_name, |b| {
            Ok((b.encryption.clone(), b.sse_c_blocked))
        })?;
        if customer.is_some() && sse_c_blocked {
            return Err(error(
                S3ErrorCode::AccessDenied,
                "Requests specifying Server Side Encryption with Customer provided keys are blocked for this bucket. New buckets block SSE-C since April 2026: unblock it with PutBucketEncryption and BlockedEncryptionTypes NONE.",
            ));
        }
        let requested = input
            .server_side_encryption
            .as_ref()
            .map(|s| s.as_str().to_string());
        let algorithm = requested
            .clone()
            .unwrap_or_else(|| default.algorithm.clone());
        if !matches!(algorithm.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse") {
            return Err(error(
                S3ErrorCode::InvalidArgument,
                format!("Server Side Encryption value {algorithm} is not valid."),
            ));
        }
        if algorithm == "AES256" && input.ssekms_key_id.is_some() {
            return Err(error(
                S3ErrorCode::InvalidArgument,
                "Server Side Encryption with AWS KMS is not applicable when x-amz-server-side-encryption is AES256.",
            ));
        }
        let user_context = match &input.ssekms_encryption_context {
            None => BTreeMap::new(),
            Some(b64) => STANDARD
                .decode(b64.as_bytes())
                .ok()
                .and_then(|json| serde_json::from_slice::<BTreeMap<String, String>>(&json).ok())
                .ok_or_else(|| error(S3ErrorCode::InvalidArgument, "The header 'x-amz-server-side-encryption-context' must be base64 of a JSON object of strings."))?,
        };
        let bucket_key = input
            .bucket_key_enabled
            .unwrap_or(requested.is_none() && default.bucket_key_enabled);
        let kms_key = input.ssekms_key_id.clone().or_else(|| {
            if requested.is_none() {
                default.kms_key_id.clone()
            } else {
                None
            }
        });
        let metadata: BTreeMap<String, String> = input
            .metadata
            .clone()
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let content_type = input.content_type.as_ref().map(ToString::to_string);
        let plaintext = read_body(req.input.body.take()).await?;

        let mut data_key = Zeroizing::new(vec![0u8; 32]);
        let (encryption, etag) = if let Some(ck) = &customer {
            data_key = ck.key.clone();
            let (salt, mac) = sse_c::fingerprint(&ck.key);
            let mut etag = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut etag);
            (
                ObjectEncryption::Customer {
                    salt,
                    mac,
                    key_md5: ck.md5.clone(),
                },
                hex::encode(etag),
            )
        } else if algorithm == "AES256" {
            rand::rngs::OsRng.fill_bytes(&mut data_key);
            let sealed_key = self.store.seal("sse-s3", &data_key);
            (
                ObjectEncryption::S3 { sealed_key },
                hex::encode(Md5::digest(&plaintext[..])),
            )
        } else {
            let key_id = kms_key.ok_or_else(|| {
                error(
                    S3ErrorCode::InvalidArgument,
                    "Name a customer managed KMS key (x-amz-server-side-encryption-aws-kms-key-id or the bucket's KMSMasterKeyID): the AWS managed key aws/s3 is not modelled by this keylab engine yet.",
                )
            })?;
            let mut context = user_context.clone();
            let arn = if bucket_key {
                bucket_arn(&bucket_name)
            } else {
                object_arn(&bucket_name, &key)
            };
            context.insert("aws:s3:arn".into(), arn);
            let mut call = self.kms_call(identity, &req);
            self.kms.tick();
            let result = self.kms.generate_data_key(
                &mut call,
                GenerateDataKeyInput {
                    key_id,
                    encryption_context: Some(context.clone()),
                    number_of_bytes: None,
                    key_spec: Some("AES_256".into()),
                    grant_tokens: None,
                    dry_run: None,
                },
                true,
            );
            self.audit_kms_call("GenerateDataKey", call, &result);
            let out = result.map_err(kms_error)?;
            data_key = out.plaintext.unwrap_or_default();
            let mut etag = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut etag);
            let encryption = ObjectEncryption::Kms {
                algorithm: algorithm.clone(),
                key_arn: out.key_id,
                blob: out.ciphertext_blob.to_vec(),
                context,
                bucket_key,
            };
            (encryption, hex::encode(etag))
        };
        let sealed = seal_body(
            &data_key,
            object_arn(&bucket_name, &key).as_bytes(),
            &plaintext,
        );
        let file = uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string();
        write_atomic(&self.objects_dir().join(&file), &sealed).map_err(|e| {
            error(
                S3ErrorCode::InternalError,
                format!("The object body cannot be stored: {e}"),
            )
        })?;
        let object = Object {
            file,
            size: plaintext.len() as u64,
            etag: etag.clone(),
            modified: self.clock.now().unix_timestamp(),
            content_type,
            metadata,
            encryption: encryption.clone(),
        };
        let replaced =
            self.with_bucket_mut(&bucket_name, |b| Ok(b.objects.insert(key.clone(), object)))?;
        if let Some(old) = replaced {
            let _ = std::fs::remove_file(self.objects_dir().join(old.file));
        }
        let mut output = PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        describe_encryption(
            &encryption,
            &mut output.server_side_encryption,
            &mut output.ssekms_key_id,
            &mut output.bucket_key_enabled,
        );
        describe_customer(
            &encryption,
            &mut output.sse_customer_algorithm,
            &mut output.sse_customer_key_md5,
        );
        Ok(S3Response::new(output))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if req.headers.contains_key("x-amz-server-side-encryption") {
            return Err(error(
                S3ErrorCode::InvalidArgument,
                "The x-amz-server-side-encryption header is not allowed on GET and HEAD requests: S3 reads the encryption from the object.",
            ));
        }
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let headers = sse_c::Headers {
            algorithm: req.input.sse_customer_algorithm.as_deref(),
            key: req.input.sse_customer_key.as_deref(),
            key_md5: req.input.sse_customer_key_md5.as_deref(),
            sse: None,
        };
        let (object, customer) = self.read_object(&req, &bucket, &key, headers)?;
        let plaintext = self.object_plaintext(&req, &bucket, &key, &object, customer.as_ref())?;
        let body = Bytes::from(plaintext.to_vec());
        let output = object_output!(GetObjectOutput, &object, {
            body: Some(StreamingBlob::from(s3s::Body::from(body))),
        });
        Ok(S3Response::new(output))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let headers = sse_c::Headers {
            algorithm: req.input.sse_customer_algorithm.as_deref(),
            key: req.input.sse_customer_key.as_deref(),
            key_md5: req.input.sse_customer_key_md5.as_deref(),
            sse: None,
        };
        let (object, _) = self.read_object(&req, &bucket, &key, headers)?;
        let output = object_output!(HeadObjectOutput, &object, {});
        Ok(S3Response::new(output))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let key = req.input.key.clone();
        let removed = self.with_bucket_mut(&req.input.bucket, |b| Ok(b.objects.remove(&key)))?;
        if let Some(old) = removed {
            let _ = std::fs::remove_file(self.objects_dir().join(old.file));
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = &req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let after = input
            .continuation_token
            .clone()
            .or_else(|| input.start_after.clone())
            .unwrap_or_default();
        self.with_bucket(&input.bucket, |b| {
            let mut matching = b
                .objects
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix) && k.as_str() > after.as_str());
            let contents: Vec<s3s::dto::Object> = matching
                .by_ref()
                .take(max)
                .map(|(k, o)| s3s::dto::Object {
                    key: Some(k.clone()),
                    size: Some(o.size as i64),
                    e_tag: Some(ETag::Strong(o.etag.clone())),
                    last_modified: Some(timestamp(o.modified)),
                    ..Default::default()
                })
                .collect();
            let truncated = matching.next().is_some();
            let next = truncated
                .then(|| contents.last().and_then(|o| o.key.clone()))
                .flatten();
            Ok(S3Response::new(ListObjectsV2Output {
                name: Some(input.bucket.clone()),
                prefix: Some(prefix.clone()),
                key_count: Some(contents.len() as i32),
                max_keys: Some(max as i32),
                is_truncated: Some(truncated),
                next_continuation_token: next,
                continuation_token: input.continuation_token.clone(),
                contents: Some(contents),
                ..Default::default()
            }))
        })
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let text = req.input.policy.clone();
        let doc = PolicyDocument::parse(&text, PolicyKind::Resource)
            .map_err(|e| error(S3ErrorCode::MalformedPolicy, e.0))?;
        self.with_bucket_mut(&req.input.bucket, |b| {
            if b.public_access_block.is_some_and(|p| p.block_public_policy) && access::is_public(&doc) {
                return Err(error(
                    S3ErrorCode::AccessDenied,
                    "Access Denied: this policy grants public access and the bucket's BlockPublicPolicy setting is on. Name the principals, or turn the setting off with PutPublicAccessBlock.",
                ));
            }
            b.policy = Some(text);
            b.policy_doc = Some(Arc::new(doc));
            Ok(S3Response::new(PutBucketPolicyOutput::default()))
        })
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        self.with_bucket(&req.input.bucket, |b| match &b.policy {
            Some(p) => Ok(S3Response::new(GetBucketPolicyOutput {
                policy: Some(p.clone()),
            })),
            None => Err(error(
                S3ErrorCode::NoSuchBucketPolicy,
                "The bucket policy does not exist",
            )),
        })
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        self.with_bucket_mut(&req.input.bucket, |b| {
            b.policy = None;
            b.policy_doc = None;
            Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
        })
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let status = req
            .input
            .versioning_configuration
            .status
            .as_ref()
            .map(|s| s.as_str().to_string());
        let status = match status.as_deref() {
            Some("Enabled") | Some("Suspended") => status,
            _ => {
                return Err(error(
                    S3ErrorCode::MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our published schema: Status must be Enabled or Suspended",
                ));
            }
        };
        self.with_bucket_mut(&req.input.bucket, |b| {
            b.versioning = status;
            Ok(S3Response::new(PutBucketVersioningOutput::default()))
        })
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        self.with_bucket(&req.input.bucket, |b| {
            Ok(S3Response::new(GetBucketVersioningOutput {
                status: b.versioning.clone().map(BucketVersioningStatus::from),
                ..Default::default()
            }))
        })
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        let c = &req.input.public_access_block_configuration;
        let block = PublicAccessBlock {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        };
        self.with_bucket_mut(&req.input.bucket, |b| {
            b.public_access_block = Some(block);
            Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
        })
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        self.with_bucket(&req.input.bucket, |b| match b.public_access_block {
            Some(p) => Ok(S3Response::new(GetPublicAccessBlockOutput {
                public_access_block_configuration: Some(PublicAccessBlockConfiguration {
                    block_public_acls: Some(p.block_public_acls),
                    ignore_public_acls: Some(p.ignore_public_acls),
                    block_public_policy: Some(p.block_public_policy),
                    restrict_public_buckets: Some(p.restrict_public_buckets),
                }),
            })),
            None => {
                let mut e = error(
                    S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
                    "The public access block configuration was not found",
                );
                e.set_status_code(http::StatusCode::NOT_FOUND);
                Err(e)
            }
        })
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        self.with_bucket_mut(&req.input.bucket, |b| {
            b.public_access_block = None;
            Ok(S3Response::new(DeletePublicAccessBlockOutput::default()))
        })
    }
}

fn describe_encryption(
    encryption: &ObjectEncryption,
    sse: &mut Option<ServerSideEncryption>,
    kms_key: &mut Option<SSEKMSKeyId>,
    bucket_key: &mut Option<BucketKeyEnabled>,
) {
    match encryption {
        ObjectEncryption::S3 { .. } => {
            *sse = Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            ))
        }
        ObjectEncryption::Customer { .. } => {}
        ObjectEncryption::Kms {
            algorithm,
            key_arn,
            bucket_key: bk,
            ..
        } => {
            *sse = Some(ServerSideEncryption::from(algorithm.clone()));
            *kms_key = Some(key_arn.clone());
            if *bk {
                *bucket_key = Some(true);
            }
        }
    }
}

fn describe_customer(
    encryption: &ObjectEncryption,
    algorithm: &mut Option<SSECustomerAlgorithm>,
    md5: &mut Option<SSECustomerKeyMD5>,
) {
    if let ObjectEncryption::Customer { key_md5, .. } = encryption {
        *algorithm = Some("AES256".into());
        *md5 = Some(key_md5.clone());
    }
}
