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
//! modelled). Versioning is a stored setting only: objects keep a single version.
//!
//! SSE-KMS without a key id uses the requester's AWS managed key `aws/s3`, made on first use.
//! DSSE-KMS adds a second AES-256-GCM layer under an engine-sealed key. Multipart uploads
//! choose the encryption and make the data key at initiation (GenerateDataKey), and each
//! UploadPart decrypts it again as the requester (which is why AWS needs `kms:Decrypt` for
//! multipart uploads); parts are sealed one by one and the completed object keeps them.
//! Bodies are buffered in memory while a request is served: fine for lab-sized objects, not
//! for gigabytes.

pub mod access;
pub mod blocked;
pub mod gate;
pub mod host;
pub(crate) mod http;
pub mod model;
pub mod object_encryption;
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

use self::access::{AccessRequest, PolicyAccess};
use self::model::{
    Bucket, DefaultEncryption, Object, ObjectEncryption, PublicAccessBlock, S3State, StoredPart,
    Upload,
};
use super::audit::AuditLog;
use super::clock::Clock;
use super::connection::Connection;
use super::identity::{Identity, IdentitySet};
use super::kms::error::KmsError;
use super::kms::types::{DecryptInput, GenerateDataKeyInput};
use super::kms::{Call, Kms};
use super::state::StateStore;
use keylab_policy::{PolicyDocument, PolicyKind};

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
        describe!(output, &object.encryption);
        output
    }};
}

/// Fills an output's encryption fields (server-side and customer-key) from an object's
/// encryption; every write and read output has the same field names.
macro_rules! describe {
    ($output:ident, $encryption:expr) => {{
        let encryption: &ObjectEncryption = $encryption;
        describe_encryption(
            encryption,
            &mut $output.server_side_encryption,
            &mut $output.ssekms_key_id,
            &mut $output.bucket_key_enabled,
        );
        describe_customer(
            encryption,
            &mut $output.sse_customer_algorithm,
            &mut $output.sse_customer_key_md5,
        );
    }};
}

/// The encryption headers of a write input (PutObject, CopyObject and CreateMultipartUpload
/// name them alike).
macro_rules! write_headers {
    ($input:expr) => {
        WriteHeaders {
            customer: sse_c::Headers {
                algorithm: $input.sse_customer_algorithm.as_deref(),
                key: $input.sse_customer_key.as_deref(),
                key_md5: $input.sse_customer_key_md5.as_deref(),
                sse: $input.server_side_encryption.as_ref().map(|s| s.as_str()),
            },
            kms_key_id: $input.ssekms_key_id.as_deref(),
            context: $input.ssekms_encryption_context.as_deref(),
            bucket_key_enabled: $input.bucket_key_enabled,
        }
    };
}

mod multipart;
mod persist;
mod segments;
mod store;

use self::multipart::part_aad;
pub(crate) use self::persist::Record;
use self::store::{Source, WriteHeaders};

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
    access: PolicyAccess,
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
    err.set_status_code(::http::StatusCode::BAD_REQUEST);
    err
}

/// Writes the named records of `bucket` as they now are in `state`, in one transaction (used
/// by the service and the bucket-encryption route).
pub(crate) fn persist(
    store: &StateStore,
    state: &S3State,
    bucket: &str,
    records: &[Record],
) -> S3Result<()> {
    store
        .commit(&persist::changes(state, bucket, records))
        .map_err(|e| {
            error(
                S3ErrorCode::InternalError,
                format!("cannot save engine state: {e}"),
            )
        })
}

/// A KMS call S3 makes on the requester's behalf: `kms:ViaService` is S3 in `region`, and the
/// transport and address are the request's.
fn requester_call<'a>(identity: &'a Identity, conn: Option<&Connection>, region: &str) -> Call<'a> {
    let mut call = Call::new(identity, conn.is_some_and(|c| c.secure));
    call.via_service = Some(format!("s3.{region}.amazonaws.com"));
    if let Some(c) = conn {
        call.source_ip = c.peer.ip().to_string();
    }
    call
}

/// Opens an SSE-KMS object's data key with KMS `Decrypt` made by `call` (the requester, through
/// S3), recorded in the audit log as CloudTrail records it.
fn decrypt_data_key(
    kms: &Kms,
    audit: &AuditLog,
    clock: &Clock,
    mut call: Call,
    blob: &[u8],
    context: &BTreeMap<String, String>,
) -> S3Result<Zeroizing<Vec<u8>>> {
    let input = DecryptInput {
        ciphertext_blob: Zeroizing::new(blob.to_vec()),
        encryption_context: Some(context.clone()),
        grant_tokens: None,
        key_id: None,
        encryption_algorithm: None,
        dry_run: None,
    };
    kms.tick();
    let result = kms.decrypt(&mut call, input);
    crate::kms::record_call(audit, clock, "Decrypt", call, &result);
    Ok(result.map_err(kms_error)?.plaintext)
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from(
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    )
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
        let mut state = persist::load_state(&store)?;
        persist::collect_garbage(&store.dir().join("objects"), &state);
        for bucket in state.buckets.values_mut() {
            bucket.policy_doc = bucket
                .policy
                .as_deref()
                .and_then(|p| PolicyDocument::parse(p, PolicyKind::Resource).ok())
                .map(Arc::new);
        }
        let state = Arc::new(RwLock::new(state));
        let access = PolicyAccess {
            state: state.clone(),
            identities: identities.clone(),
            clock: clock.clone(),
        };
        Ok(S3Engine {
            region: region.to_string(),
            state,
            store,
            kms,
            identities,
            clock,
            audit,
            access,
        })
    }

    /// The policy check of this service, for the protocol layer and custom routes.
    pub fn access(&self) -> PolicyAccess {
        self.access.clone()
    }

    fn persist(&self, state: &S3State, bucket: &str, records: &[Record]) -> S3Result<()> {
        persist(&self.store, state, bucket, records)
    }

    /// The shared state, for the access checker.
    pub(crate) fn state_handle(&self) -> Arc<RwLock<S3State>> {
        self.state.clone()
    }

    fn caller<T>(&self, req: &S3Request<T>) -> S3Result<crate::roles::Principal<'_>> {
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
        requester_call(identity, req.extensions.get::<Connection>(), &self.region)
    }

    /// Records a KMS call S3 made on the requester's behalf, as CloudTrail does.
    fn audit_kms_call<T>(&self, operation: &str, call: Call, result: &Result<T, KmsError>) {
        crate::kms::record_call(&self.audit, &self.clock, operation, call, result);
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

    /// Changes a bucket and writes the records the change touched.
    fn with_bucket_mut<R>(
        &self,
        name: &str,
        records: &[Record],
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
        self.persist(&state, name, records)?;
        Ok(out)
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
            uploads: BTreeMap::new(),
        };
        state.buckets.insert(name.clone(), bucket);
        self.persist(&state, &name, &[Record::Bucket])?;
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
        let Some(removed) = state.buckets.remove(&req.input.bucket) else {
            return Ok(S3Response::new(DeleteBucketOutput::default()));
        };
        let mut records = vec![Record::Bucket];
        records.extend(removed.uploads.keys().map(|id| Record::Upload(id)));
        self.persist(&state, &req.input.bucket, &records)?;
        for part in removed.uploads.values().flat_map(|u| u.parts.values()) {
            let _ = std::fs::remove_file(self.objects_dir().join(&part.file));
        }
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
        let input = &req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let plan = self.plan_write(&req, &bucket, write_headers!(input))?;
        let metadata: BTreeMap<String, String> = input
            .metadata
            .clone()
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let content_type = input.content_type.as_ref().map(ToString::to_string);
        let body = Source::Request(req.input.body.take());
        let stored = self
            .store_new(&req, &bucket, &key, plan, body, content_type, metadata)
            .await?;
        let mut output = PutObjectOutput {
            e_tag: Some(ETag::Strong(stored.etag.clone())),
            ..Default::default()
        };
        describe!(output, &stored.encryption);
        Ok(S3Response::new(output))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = &req.input;
        let CopySource::Bucket {
            bucket: source_bucket,
            key: source_key,
            version_id,
        } = &input.copy_source
        else {
            return Err(error(
                S3ErrorCode::NotImplemented,
                "Copying from an access point is not modelled by the keylab engine.",
            ));
        };
        if version_id.is_some() {
            return Err(error(
                S3ErrorCode::NotImplemented,
                "Object versions are not modelled by the keylab engine: copy the current version.",
            ));
        }
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        self.access.authorize(&AccessRequest {
            operation: "GetObject",
            bucket: Some(source_bucket),
            key: Some(source_key),
            upload_id: None,
            copy_source: true,
            credentials: req.credentials.as_ref(),
            headers: &req.headers,
            extensions: &req.extensions,
        })?;
        let replace_metadata = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == "REPLACE");
        let changes_encryption = input.server_side_encryption.is_some()
            || input.ssekms_key_id.is_some()
            || input.sse_customer_algorithm.is_some()
            || input.bucket_key_enabled.is_some();
        if **source_bucket == *bucket
            && **source_key == *key
            && !replace_metadata
            && !changes_encryption
        {
            return Err(error(
                S3ErrorCode::InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        let (source, source_customer) = self.read_object(
            &req,
            source_bucket,
            source_key,
            sse_c::Headers {
                algorithm: input.copy_source_sse_customer_algorithm.as_deref(),
                key: input.copy_source_sse_customer_key.as_deref(),
                key_md5: input.copy_source_sse_customer_key_md5.as_deref(),
                sse: None,
            },
        )?;
        let plan = self.plan_write(&req, &bucket, write_headers!(input))?;
        let chunks = self.body_chunks(
            &req,
            source_bucket,
            source_key,
            &source,
            source_customer.as_ref(),
            0,
            source.size,
        )?;
        let (metadata, content_type) = if replace_metadata {
            (
                input
                    .metadata
                    .clone()
                    .map(|m| m.into_iter().collect())
                    .unwrap_or_default(),
                input.content_type.as_ref().map(ToString::to_string),
            )
        } else {
            (source.metadata.clone(), source.content_type.clone())
        };
        let stored = self
            .store_new(
                &req,
                &bucket,
                &key,
                plan,
                Source::Chunks(chunks),
                content_type,
                metadata,
            )
            .await?;
        let mut output = CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(stored.etag.clone())),
                last_modified: Some(timestamp(stored.modified)),
                ..Default::default()
            }),
            ..Default::default()
        };
        describe!(output, &stored.encryption);
        Ok(S3Response::new(output))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.start_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.put_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.complete_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.abort_upload(req).await
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
        let size = object.size;
        let span = match req.input.range {
            None => None,
            Some(range) => Some(range.check(size).map_err(|_| {
                let mut e = error(
                    S3ErrorCode::InvalidRange,
                    "The requested range is not satisfiable",
                );
                e.set_status_code(::http::StatusCode::RANGE_NOT_SATISFIABLE);
                e
            })?),
        };
        let (start, end) = span.as_ref().map_or((0, size), |s| (s.start, s.end));
        let chunks =
            self.body_chunks(&req, &bucket, &key, &object, customer.as_ref(), start, end)?;
        let stream = futures_util::stream::iter(chunks.map(|c| c.map(Bytes::from)));
        let body = Some(StreamingBlob::wrap(stream));
        let Some(span) = span else {
            let output = object_output!(GetObjectOutput, &object, { body, });
            return Ok(S3Response::new(output));
        };
        let output = object_output!(GetObjectOutput, &object, {
            content_range: Some(format!("bytes {}-{}/{size}", span.start, span.end - 1)),
            body,
        });
        let mut output = S3Response::new(output);
        output.output.content_length = Some((span.end - span.start) as i64);
        output.status = Some(::http::StatusCode::PARTIAL_CONTENT);
        Ok(output)
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
        let removed = self.with_bucket_mut(&req.input.bucket, &[Record::Object(&key)], |b| {
            Ok(b.objects.remove(&key))
        })?;
        if let Some(old) = removed {
            self.remove_files(&old);
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
        self.with_bucket_mut(&req.input.bucket, &[Record::Bucket], |b| {
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
        self.with_bucket_mut(&req.input.bucket, &[Record::Bucket], |b| {
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
        self.with_bucket_mut(&req.input.bucket, &[Record::Bucket], |b| {
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
        self.with_bucket_mut(&req.input.bucket, &[Record::Bucket], |b| {
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
                e.set_status_code(::http::StatusCode::NOT_FOUND);
                Err(e)
            }
        })
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        self.with_bucket_mut(&req.input.bucket, &[Record::Bucket], |b| {
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
