//! Multipart uploads: CreateMultipartUpload chooses the encryption and makes the data key,
//! every UploadPart decrypts it again as the requester and seals its part,
//! CompleteMultipartUpload checks the part list and stores the object, AbortMultipartUpload
//! removes the parts.

use super::*;

/// Parts other than the last must be at least 5 MiB, as in AWS.
pub(super) const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The authenticated data of one part of a multipart object.
pub(super) fn part_aad(object_arn: &str, number: i32) -> Vec<u8> {
    format!("{object_arn}#part={number}").into_bytes()
}

pub(super) fn no_such_upload() -> S3Error {
    error(
        S3ErrorCode::NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

impl S3Engine {
    /// Finds a multipart upload.
    pub(super) fn upload(&self, bucket: &str, upload_id: &str) -> S3Result<Upload> {
        self.with_bucket(bucket, |b| {
            b.uploads.get(upload_id).cloned().ok_or_else(no_such_upload)
        })
    }

    pub(super) async fn start_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = &req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let plan = self.plan_write(&req, &bucket, write_headers!(input))?;
        let (encryption, _keys) = self.new_keys(&req, &bucket, &key, plan)?;
        let upload = Upload {
            key: key.clone(),
            initiated: self.clock.now().unix_timestamp(),
            initiator: self.caller(&req)?.caller.principal_arn.clone(),
            encryption: encryption.clone(),
            condition_headers: access::condition_headers(&req.headers),
            content_type: input.content_type.as_ref().map(ToString::to_string),
            metadata: input
                .metadata
                .clone()
                .map(|m| m.into_iter().collect())
                .unwrap_or_default(),
            parts: BTreeMap::new(),
        };
        let upload_id = hex::encode(rand::random::<[u8; 24]>());
        self.with_bucket_mut(&bucket, &[Record::Upload(&upload_id)], |b| {
            b.uploads.insert(upload_id.clone(), upload);
            Ok(())
        })?;
        let mut output = CreateMultipartUploadOutput {
            bucket: Some(bucket),
            key: Some(key),
            upload_id: Some(upload_id),
            ..Default::default()
        };
        describe!(output, &encryption);
        Ok(S3Response::new(output))
    }

    pub(super) async fn put_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = &req.input;
        let (bucket, key, upload_id) = (
            input.bucket.clone(),
            input.key.clone(),
            input.upload_id.clone(),
        );
        let number = input.part_number;
        if !(1..=10_000).contains(&number) {
            return Err(error(
                S3ErrorCode::InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        let upload = self.upload(&bucket, &upload_id)?;
        if upload.key != key {
            return Err(no_such_upload());
        }
        let secure = req.extensions.get::<Connection>().is_some_and(|c| c.secure);
        let given = sse_c::from_headers(
            sse_c::Headers {
                algorithm: input.sse_customer_algorithm.as_deref(),
                key: input.sse_customer_key.as_deref(),
                key_md5: input.sse_customer_key_md5.as_deref(),
                sse: None,
            },
            secure,
        )?;
        let customer = match (&upload.encryption, given) {
            (ObjectEncryption::Customer { .. }, None) => {
                return Err(error(
                    S3ErrorCode::InvalidRequest,
                    "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.",
                ));
            }
            (ObjectEncryption::Customer { salt, mac, .. }, Some(c))
                if sse_c::matches(&c.key, salt, mac) =>
            {
                Some(c)
            }
            (_, Some(_)) => {
                return Err(error(
                    S3ErrorCode::InvalidRequest,
                    "The provided encryption parameters did not match the ones used originally.",
                ));
            }
            (_, None) => None,
        };
        let keys = self.body_keys(&req, &upload.encryption, customer.as_ref())?;
        let aad = part_aad(&object_arn(&bucket, &key), number);
        let body = store::Source::Request(req.input.body.take());
        let written = self
            .write_body(keys, &aad, store::etag_is_md5(&upload.encryption), body)
            .await?;
        let etag = store::etag_of(&written);
        let part = StoredPart {
            number,
            file: written.file,
            size: written.size,
            etag: etag.clone(),
        };
        let replaced = self.with_bucket_mut(&bucket, &[Record::Upload(&upload_id)], |b| {
            let upload = b.uploads.get_mut(&upload_id).ok_or_else(no_such_upload)?;
            Ok(upload.parts.insert(number, part))
        })?;
        if let Some(old) = replaced {
            let _ = std::fs::remove_file(self.objects_dir().join(old.file));
        }
        let mut output = UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        describe!(output, &upload.encryption);
        Ok(S3Response::new(output))
    }

    pub(super) async fn complete_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        let (bucket, key, upload_id) = (
            input.bucket.clone(),
            input.key.clone(),
            input.upload_id.clone(),
        );
        let upload = self.upload(&bucket, &upload_id)?;
        if upload.key != key {
            return Err(no_such_upload());
        }
        let listed = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.clone())
            .unwrap_or_default();
        if listed.is_empty() {
            return Err(error(
                S3ErrorCode::MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema",
            ));
        }
        let mut parts = Vec::with_capacity(listed.len());
        for (i, listed_part) in listed.iter().enumerate() {
            let number = listed_part.part_number.unwrap_or(0);
            if i > 0 && number <= parts.last().map_or(0, |p: &StoredPart| p.number) {
                return Err(error(
                    S3ErrorCode::InvalidPartOrder,
                    "The list of parts was not in ascending order. Parts must be ordered by part number.",
                ));
            }
            let stored = upload.parts.get(&number).filter(|p| {
                listed_part
                    .e_tag
                    .as_ref()
                    .is_none_or(|e| e.value().trim_matches('"') == p.etag)
            });
            let Some(stored) = stored else {
                return Err(error(
                    S3ErrorCode::InvalidPart,
                    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                ));
            };
            parts.push(stored.clone());
        }
        let last = parts.len() - 1;
        if parts[..last].iter().any(|p| p.size < MIN_PART_SIZE) {
            return Err(error(
                S3ErrorCode::EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size.",
            ));
        }
        let mut md5s = Vec::with_capacity(parts.len() * 16);
        for p in &parts {
            md5s.extend_from_slice(&hex::decode(&p.etag).unwrap_or_default());
        }
        let etag = format!("{}-{}", hex::encode(Md5::digest(&md5s)), parts.len());
        let object = Object {
            file: String::new(),
            size: parts.iter().map(|p| p.size).sum(),
            parts: parts.clone(),
            etag: etag.clone(),
            modified: self.clock.now().unix_timestamp(),
            content_type: upload.content_type.clone(),
            metadata: upload.metadata.clone(),
            encryption: upload.encryption.clone(),
        };
        let used: Vec<i32> = parts.iter().map(|p| p.number).collect();
        self.with_bucket_mut(&bucket, &[Record::Upload(&upload_id)], |b| {
            b.uploads.remove(&upload_id);
            Ok(())
        })?;
        for (number, part) in &upload.parts {
            if !used.contains(number) {
                let _ = std::fs::remove_file(self.objects_dir().join(&part.file));
            }
        }
        self.put_stored(&bucket, &key, object)?;
        let mut output = CompleteMultipartUploadOutput {
            bucket: Some(bucket.clone()),
            key: Some(key.clone()),
            e_tag: Some(ETag::Strong(etag)),
            location: Some(format!("/{bucket}/{key}")),
            ..Default::default()
        };
        describe_encryption(
            &upload.encryption,
            &mut output.server_side_encryption,
            &mut output.ssekms_key_id,
            &mut output.bucket_key_enabled,
        );
        Ok(S3Response::new(output))
    }

    pub(super) async fn abort_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        let removed =
            self.with_bucket_mut(&req.input.bucket, &[Record::Upload(&upload_id)], |b| {
                b.uploads.remove(&upload_id).ok_or_else(no_such_upload)
            })?;
        for part in removed.parts.values() {
            let _ = std::fs::remove_file(self.objects_dir().join(&part.file));
        }
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
