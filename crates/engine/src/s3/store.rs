//! Where object bodies live: the write plan (which encryption, which key, from the request and
//! the bucket default), data keys made through the engine's KMS as the requester, bodies sealed
//! with AES-256-GCM into files under `objects/`, and reading them back.

use super::segments::{SegmentReader, SegmentWriter, Written};
use super::*;

pub(super) fn open_body(data_key: &[u8], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
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

/// The encryption headers of a write.
pub(super) struct WriteHeaders<'a> {
    /// The SSE-C headers and `x-amz-server-side-encryption`.
    pub(super) customer: sse_c::Headers<'a>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`.
    pub(super) kms_key_id: Option<&'a str>,
    /// `x-amz-server-side-encryption-context` (base64 JSON).
    pub(super) context: Option<&'a str>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    pub(super) bucket_key_enabled: Option<bool>,
}

/// How a write will be encrypted.
pub(super) struct WritePlan {
    pub(super) customer: Option<sse_c::CustomerKey>,
    pub(super) algorithm: String,
    pub(super) kms_key: Option<String>,
    pub(super) context: BTreeMap<String, String>,
    pub(super) bucket_key: bool,
}

/// The keys of a stored body: the data key, and for DSSE-KMS the second layer's key.
#[derive(Clone)]
pub(super) struct BodyKeys {
    pub(super) data: Zeroizing<Vec<u8>>,
    pub(super) outer: Option<Zeroizing<Vec<u8>>>,
}

impl BodyKeys {
    pub(super) fn single(data: Zeroizing<Vec<u8>>) -> BodyKeys {
        BodyKeys { data, outer: None }
    }

    /// Opens a body stored whole, as the engine stored them before segments.
    pub(super) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        match &self.outer {
            Some(outer) => open_body(&self.data, aad, &open_body(outer, aad, sealed)?),
            None => open_body(&self.data, aad, sealed),
        }
    }
}

/// Whether an ETag is the MD5 of the plaintext: for SSE-S3; SSE-KMS and SSE-C ETags must not
/// reveal a digest of the plaintext, as AWS documents.
pub(super) fn etag_is_md5(encryption: &ObjectEncryption) -> bool {
    matches!(encryption, ObjectEncryption::S3 { .. })
}

/// The ETag of a written body: its MD5 when [`etag_is_md5`], else random.
pub(super) fn etag_of(written: &Written) -> String {
    match written.md5 {
        Some(md5) => hex::encode(md5),
        None => hex::encode(rand::random::<[u8; 16]>()),
    }
}

/// Where a new body comes from: the request, or another object's plaintext (a copy).
pub(super) enum Source {
    /// The request body, as it streams in.
    Request(Option<StreamingBlob>),
    /// Plaintext chunks of a stored object.
    Chunks(Chunks),
}

/// Plaintext of a stored body, chunk by chunk.
pub(super) type Chunks = Box<dyn Iterator<Item = std::io::Result<Vec<u8>>> + Send + Sync>;

fn internal(e: impl std::fmt::Display) -> S3Error {
    error(
        S3ErrorCode::InternalError,
        format!("The object body cannot be stored or read: {e}"),
    )
}

/// A request body that could not be read: a payload whose SHA-256 is not the one it was
/// signed with, or a body cut short.
fn unreadable(e: impl std::fmt::Display) -> S3Error {
    let text = e.to_string();
    if text.contains("Sha256Mismatch") {
        return error(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
    }
    error(
        S3ErrorCode::IncompleteBody,
        format!("The request body could not be read: {text}"),
    )
}

impl S3Engine {
    pub(super) fn objects_dir(&self) -> std::path::PathBuf {
        self.store.dir().join("objects")
    }

    /// Works out how a write (PutObject, CopyObject's target, CreateMultipartUpload) is
    /// encrypted: its headers if it sent any, else the bucket's default. SSE-C is refused on
    /// buckets that block it.
    pub(super) fn plan_write<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        headers: WriteHeaders<'_>,
    ) -> S3Result<WritePlan> {
        let identity = self.caller(req)?;
        let secure = req.extensions.get::<Connection>().is_some_and(|c| c.secure);
        let customer = sse_c::from_headers(headers.customer, secure)?;
        let (default, sse_c_blocked) =
            self.with_bucket(bucket, |b| Ok((b.encryption.clone(), b.sse_c_blocked)))?;
        if customer.is_some() && sse_c_blocked {
            return Err(error(
                S3ErrorCode::AccessDenied,
                "Requests specifying Server Side Encryption with Customer provided keys are blocked for this bucket. New buckets block SSE-C since April 2026: unblock it with PutBucketEncryption and BlockedEncryptionTypes NONE.",
            ));
        }
        let requested = headers.customer.sse.map(str::to_string);
        let algorithm = requested
            .clone()
            .unwrap_or_else(|| default.algorithm.clone());
        if !matches!(algorithm.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse") {
            return Err(error(
                S3ErrorCode::InvalidArgument,
                format!("Server Side Encryption value {algorithm} is not valid."),
            ));
        }
        if algorithm == "AES256" && headers.kms_key_id.is_some() {
            return Err(error(
                S3ErrorCode::InvalidArgument,
                "Server Side Encryption with AWS KMS is not applicable when x-amz-server-side-encryption is AES256.",
            ));
        }
        let context = match headers.context {
            None => BTreeMap::new(),
            Some(b64) => STANDARD
                .decode(b64.as_bytes())
                .ok()
                .and_then(|json| serde_json::from_slice::<BTreeMap<String, String>>(&json).ok())
                .ok_or_else(|| error(S3ErrorCode::InvalidArgument, "The header 'x-amz-server-side-encryption-context' must be base64 of a JSON object of strings."))?,
        };
        let bucket_key = headers
            .bucket_key_enabled
            .unwrap_or(requested.is_none() && default.bucket_key_enabled);
        let configured = headers.kms_key_id.map(str::to_string).or_else(|| {
            requested
                .is_none()
                .then(|| default.kms_key_id.clone())
                .flatten()
        });
        let kms_key = match configured {
            Some(k) => Some(k),
            // Without a key id S3 uses the requester's AWS managed key, made on first use.
            None if algorithm != "AES256" && customer.is_none() => Some(
                self.kms
                    .ensure_aws_managed_key(&identity.caller.account, "s3")
                    .map_err(kms_error)?,
            ),
            None => None,
        };
        Ok(WritePlan {
            customer,
            algorithm,
            kms_key,
            context,
            bucket_key,
        })
    }

    /// Makes the keys of a new object as `plan` says: the customer's key for SSE-C, a fresh
    /// key sealed under the engine's master key for SSE-S3, GenerateDataKey as the requester
    /// for SSE-KMS (plus a second, engine-sealed layer for DSSE-KMS).
    pub(super) fn new_keys<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        plan: WritePlan,
    ) -> S3Result<(ObjectEncryption, BodyKeys)> {
        if let Some(customer) = plan.customer {
            let (salt, mac) = sse_c::fingerprint(&customer.key);
            let encryption = ObjectEncryption::Customer {
                salt,
                mac,
                key_md5: customer.md5,
            };
            return Ok((encryption, BodyKeys::single(customer.key)));
        }
        let Some(key_id) = plan.kms_key else {
            let mut data_key = Zeroizing::new(vec![0u8; 32]);
            rand::rng().fill_bytes(&mut data_key);
            let sealed_key = self.store.seal("sse-s3", &data_key);
            return Ok((
                ObjectEncryption::S3 { sealed_key },
                BodyKeys::single(data_key),
            ));
        };
        let mut context = plan.context;
        let arn = if plan.bucket_key {
            bucket_arn(bucket)
        } else {
            object_arn(bucket, key)
        };
        context.insert("aws:s3:arn".into(), arn);
        let identity = self.caller(req)?;
        let mut call = self.kms_call(&identity, req);
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
        let mut keys = BodyKeys::single(out.plaintext.unwrap_or_default());
        let mut outer_key = None;
        if plan.algorithm == "aws:kms:dsse" {
            let mut second = Zeroizing::new(vec![0u8; 32]);
            rand::rng().fill_bytes(&mut second);
            outer_key = Some(self.store.seal("dsse", &second));
            keys.outer = Some(second);
        }
        let encryption = ObjectEncryption::Kms {
            algorithm: plan.algorithm,
            key_arn: out.key_id,
            blob: out.ciphertext_blob.to_vec(),
            context,
            bucket_key: plan.bucket_key,
            outer_key,
        };
        Ok((encryption, keys))
    }

    /// The keys that open a stored body, calling KMS Decrypt as the requester for SSE-KMS.
    pub(super) fn body_keys<T>(
        &self,
        req: &S3Request<T>,
        encryption: &ObjectEncryption,
        customer: Option<&sse_c::CustomerKey>,
    ) -> S3Result<BodyKeys> {
        let unseal = |purpose: &str, sealed: &[u8]| {
            self.store.open_sealed(purpose, sealed).ok_or_else(|| {
                error(
                    S3ErrorCode::InternalError,
                    "The object's data key cannot be unsealed.",
                )
            })
        };
        match encryption {
            ObjectEncryption::Customer { .. } => customer
                .map(|c| BodyKeys::single(c.key.clone()))
                .ok_or_else(|| error(S3ErrorCode::InvalidRequest, STORED_WITH_SSE_C)),
            ObjectEncryption::S3 { sealed_key } => {
                Ok(BodyKeys::single(unseal("sse-s3", sealed_key)?))
            }
            ObjectEncryption::Kms {
                blob,
                context,
                outer_key,
                ..
            } => {
                let identity = self.caller(req)?;
                let call = self.kms_call(&identity, req);
                let plaintext =
                    decrypt_data_key(&self.kms, &self.audit, &self.clock, call, blob, context)?;
                let mut keys = BodyKeys::single(plaintext);
                if let Some(sealed) = outer_key {
                    keys.outer = Some(unseal("dsse", sealed)?);
                }
                Ok(keys)
            }
        }
    }

    /// Seals a body into a new file as it arrives (segment by segment, in flat memory) and
    /// returns what was written; nothing is left behind when the body fails.
    pub(super) async fn write_body(
        &self,
        keys: BodyKeys,
        aad: &[u8],
        with_md5: bool,
        source: Source,
    ) -> S3Result<Written> {
        let mut writer =
            SegmentWriter::create(&self.objects_dir(), keys, aad, with_md5).map_err(internal)?;
        match source {
            Source::Request(Some(mut body)) => {
                while let Some(chunk) = body.next().await {
                    writer
                        .write(&chunk.map_err(unreadable)?)
                        .map_err(internal)?;
                }
            }
            Source::Request(None) => {}
            Source::Chunks(chunks) => {
                for chunk in chunks {
                    writer.write(&chunk.map_err(internal)?).map_err(internal)?;
                }
            }
        }
        writer.finish().map_err(internal)
    }

    /// Encrypts and stores a new single-part object (PutObject, CopyObject): makes its keys as
    /// `plan` says, seals the body into a new file and replaces any object under `key`.
    /// Returns what was stored, without the body.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_new<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        plan: WritePlan,
        source: Source,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> S3Result<Object> {
        let (encryption, keys) = self.new_keys(req, bucket, key, plan)?;
        let aad = object_arn(bucket, key);
        let written = self
            .write_body(keys, aad.as_bytes(), etag_is_md5(&encryption), source)
            .await?;
        let object = Object {
            file: written.file.clone(),
            parts: Vec::new(),
            size: written.size,
            etag: etag_of(&written),
            modified: self.clock.now().unix_timestamp(),
            content_type,
            metadata,
            encryption,
        };
        self.put_stored(bucket, key, object.clone())?;
        Ok(object)
    }

    /// Removes the files of an object that is gone.
    pub(super) fn remove_files(&self, object: &Object) {
        let dir = self.objects_dir();
        if !object.file.is_empty() {
            let _ = std::fs::remove_file(dir.join(&object.file));
        }
        for part in &object.parts {
            let _ = std::fs::remove_file(dir.join(&part.file));
        }
    }

    /// Stores an object under `key`, replacing (and removing the files of) any earlier one.
    pub(super) fn put_stored(&self, bucket: &str, key: &str, object: Object) -> S3Result<()> {
        let replaced = self.with_bucket_mut(bucket, &[Record::Object(key)], |b| {
            Ok(b.objects.insert(key.to_string(), object))
        })?;
        if let Some(old) = replaced {
            self.remove_files(&old);
        }
        Ok(())
    }

    /// The plaintext bytes `start..end` of an object, read and decrypted lazily, segment by
    /// segment and part by part, with its keys (KMS Decrypt as the requester when needed).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn body_chunks<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        object: &Object,
        customer: Option<&sse_c::CustomerKey>,
        start: u64,
        end: u64,
    ) -> S3Result<Chunks> {
        let keys = self.body_keys(req, &object.encryption, customer)?;
        let arn = object_arn(bucket, key);
        let pieces: Vec<(String, Vec<u8>, u64)> = if object.parts.is_empty() {
            vec![(object.file.clone(), arn.into_bytes(), object.size)]
        } else {
            object
                .parts
                .iter()
                .map(|p| (p.file.clone(), part_aad(&arn, p.number), p.size))
                .collect()
        };
        let dir = self.objects_dir();
        let mut readers: Vec<Chunks> = Vec::new();
        let mut offset = 0u64;
        for (file, aad, size) in pieces {
            let (from, to) = (start.max(offset), end.min(offset + size));
            if from < to {
                let reader =
                    SegmentReader::open(&dir.join(&file), keys.clone(), &aad).map_err(internal)?;
                readers.push(Box::new(reader.range(from - offset, to - offset)));
            }
            offset += size;
        }
        Ok(Box::new(readers.into_iter().flatten()))
    }
}
