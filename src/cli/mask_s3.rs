//! `s3://bucket/key` inputs and outputs for `keylab mask`, through the S3 endpoint the standard
//! AWS variables name (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SESSION_TOKEN` when the credentials are temporary, …;
//! `keylab env EXERCISE` prints them for the lab engine, and LocalStack or AWS work the same).
//! An input object is streamed to a temporary file first (Parquet is read from its footer,
//! and a failed run must not leave half an object); the masked output is written to a
//! temporary file and then uploaded: one PutObject up to the part size, a multipart upload
//! above it (aborted on failure, so no partial object is ever visible). SSE-KMS is asked for
//! when `--sse-kms-key` or the rules' `[output] sse_kms_key` name a key.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use keylab::backend::client::s3_error;
use keylab::backend::sdk::{ClientSettings, s3_client};

/// The default size of one uploaded part: 8 MiB.
pub const DEFAULT_PART_BYTES: usize = 8 << 20;

/// S3's smallest part (all but the last).
const MIN_PART_BYTES: usize = 5 << 20;

/// A bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Path {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

impl std::fmt::Display for S3Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl S3Path {
    /// `s3://bucket/key` as a path; `None` for anything else (a local path).
    pub fn parse(text: &str) -> Option<Result<S3Path>> {
        let rest = text.strip_prefix("s3://")?;
        Some(match rest.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(S3Path {
                bucket: bucket.to_string(),
                key: key.to_string(),
            }),
            _ => Err(anyhow!(
                "'{text}' is not an S3 object: write s3://BUCKET/KEY (a key, not a folder)"
            )),
        })
    }
}

/// Client settings from the standard AWS variables, for `service` (`S3` or `KMS`).
pub fn env_settings(service: &str) -> Result<ClientSettings> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let endpoint = var(&format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .ok_or_else(|| {
            anyhow!(
                "keylab mask needs {service}: set AWS_ENDPOINT_URL (and credentials) to the endpoint to ask — `keylab env EXERCISE` prints them for the lab engine"
            )
        })?;
    let ca_pem = match var("AWS_CA_BUNDLE") {
        Some(path) => {
            Some(std::fs::read_to_string(&path).with_context(|| format!("AWS_CA_BUNDLE {path}"))?)
        }
        None => None,
    };
    Ok(ClientSettings {
        endpoint,
        region: var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into()),
        access_key_id: var("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set")?,
        secret_access_key: var("AWS_SECRET_ACCESS_KEY")
            .context("AWS_SECRET_ACCESS_KEY is not set")?,
        ca_pem,
        session_token: var("AWS_SESSION_TOKEN").filter(|t| !t.is_empty()),
    })
}

/// An S3 client from the environment (with `AWS_SESSION_TOKEN` when it is set: temporary
/// credentials, from STS or SSO, are refused without their token).
pub fn client() -> Result<aws_sdk_s3::Client> {
    Ok(s3_client(&env_settings("S3")?)?)
}

fn sdk_error<E>(
    what: String,
    operation: &'static str,
) -> impl FnOnce(SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| anyhow!("{what}: {}", s3_error(operation, e))
}

/// Streams an object into `file` (rewound after).
pub async fn download(client: &aws_sdk_s3::Client, from: &S3Path, file: &mut File) -> Result<u64> {
    let got = client
        .get_object()
        .bucket(&from.bucket)
        .key(&from.key)
        .send()
        .await
        .map_err(sdk_error(format!("cannot read {from}"), "GetObject"))?;
    let mut body = got.body;
    let mut n = 0u64;
    while let Some(chunk) = body
        .try_next()
        .await
        .with_context(|| format!("reading {from}"))?
    {
        file.write_all(&chunk)?;
        n += chunk.len() as u64;
    }
    file.flush()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(n)
}

/// Reads up to `buf.len()` bytes (fewer only at the end of the file).
fn fill(file: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let got = file.read(&mut buf[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}

/// Uploads `file` to `to`: one PutObject up to `part_bytes`, a multipart upload above it;
/// SSE-KMS under `kms_key` when given. Returns the number of parts (1 for a PutObject).
pub async fn upload(
    client: &aws_sdk_s3::Client,
    to: &S3Path,
    file: &mut File,
    kms_key: Option<&str>,
    part_bytes: usize,
) -> Result<usize> {
    if part_bytes < MIN_PART_BYTES {
        bail!("--s3-part-bytes {part_bytes} is below S3's smallest part (5 MiB)");
    }
    let size = file.seek(SeekFrom::End(0))? as usize;
    file.seek(SeekFrom::Start(0))?;
    let sse = kms_key.map(|_| ServerSideEncryption::AwsKms);
    if size <= part_bytes {
        let mut body = vec![0; size];
        fill(file, &mut body)?;
        client
            .put_object()
            .bucket(&to.bucket)
            .key(&to.key)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key.map(str::to_string))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(sdk_error(format!("cannot write {to}"), "PutObject"))?;
        return Ok(1);
    }
    let started = client
        .create_multipart_upload()
        .bucket(&to.bucket)
        .key(&to.key)
        .set_server_side_encryption(sse)
        .set_ssekms_key_id(kms_key.map(str::to_string))
        .send()
        .await
        .map_err(sdk_error(
            format!("cannot start the upload of {to}"),
            "CreateMultipartUpload",
        ))?;
    let id = started
        .upload_id()
        .ok_or_else(|| anyhow!("{to}: the endpoint returned no upload id"))?
        .to_string();
    match upload_parts(client, to, &id, file, part_bytes).await {
        Ok(n) => Ok(n),
        Err(e) => {
            // Nothing half-written stays behind: the parts are dropped with the upload.
            let _ = client
                .abort_multipart_upload()
                .bucket(&to.bucket)
                .key(&to.key)
                .upload_id(&id)
                .send()
                .await;
            Err(e)
        }
    }
}

async fn upload_parts(
    client: &aws_sdk_s3::Client,
    to: &S3Path,
    id: &str,
    file: &mut File,
    part_bytes: usize,
) -> Result<usize> {
    let mut parts = Vec::new();
    loop {
        let mut body = vec![0; part_bytes];
        let n = fill(file, &mut body)?;
        if n == 0 {
            break;
        }
        body.truncate(n);
        let number = parts.len() as i32 + 1;
        let sent = client
            .upload_part()
            .bucket(&to.bucket)
            .key(&to.key)
            .upload_id(id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(sdk_error(
                format!("cannot upload part {number} of {to}"),
                "UploadPart",
            ))?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
    }
    let count = parts.len();
    client
        .complete_multipart_upload()
        .bucket(&to.bucket)
        .key(&to.key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(sdk_error(
            format!("cannot complete the upload of {to}"),
            "CompleteMultipartUpload",
        ))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_paths() {
        assert_eq!(
            S3Path::parse("s3://lake/raw/customers.parquet")
                .unwrap()
                .unwrap(),
            S3Path {
                bucket: "lake".into(),
                key: "raw/customers.parquet".into()
            }
        );
        assert!(S3Path::parse("./s3.csv").is_none());
        let e = S3Path::parse("s3://lake").unwrap().unwrap_err().to_string();
        assert!(e.contains("s3://BUCKET/KEY"), "{e}");
    }
}
