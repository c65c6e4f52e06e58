//! `aws s3api …`: the S3 operations of the lab through `aws-sdk-s3` (path-style), with the
//! AWS CLI's option names and its JSON output fields. SSE-C keys are given as the CLI takes
//! them (`fileb://key.bin` or the raw key text) and are base64-encoded here, as botocore does.

use std::collections::BTreeMap;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BlockedEncryptionTypes, BucketVersioningStatus, EncryptionType, MetadataDirective,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use serde_json::{Value, json};

use super::args::{self, Parsed};
use super::{CmdError, Ctx};

/// The operations the console serves, each with its handler: the one list that drives the
/// dispatch and the "Invalid choice" list (and so Tab completion).
macro_rules! operations {
    ($($name:literal => $handler:ident $(($op:ident))?,)*) => {
        const OPERATIONS: &[&str] = &[$($name),*];

        async fn dispatch(
            ctx: &Ctx<'_>,
            client: &aws_sdk_s3::Client,
            operation: &str,
            p: Parsed,
        ) -> Result<Value, CmdError> {
            match operation {
                $($name => $handler(ctx, client, p $(, { let $op = operation; $op })?).await,)*
                _ => Err(CmdError::invalid_choice("operation", OPERATIONS.iter().copied())),
            }
        }
    };
}

operations! {
    "create-bucket" => create_bucket,
    "delete-bucket" => delete_bucket,
    "head-bucket" => head_bucket,
    "list-buckets" => list_buckets,
    "put-object" => put_object,
    "get-object" => get_object_or_head_object(op),
    "head-object" => get_object_or_head_object(op),
    "delete-object" => delete_object,
    "list-objects-v2" => list_objects_v2,
    "copy-object" => copy_object,
    "put-bucket-encryption" => put_bucket_encryption,
    "get-bucket-encryption" => get_bucket_encryption,
    "delete-bucket-encryption" => delete_bucket_encryption,
    "put-bucket-policy" => put_bucket_policy,
    "get-bucket-policy" => get_bucket_policy,
    "delete-bucket-policy" => delete_bucket_policy,
    "put-public-access-block" => put_public_access_block,
    "get-public-access-block" => get_public_access_block,
    "delete-public-access-block" => delete_public_access_block,
    "put-bucket-versioning" => put_bucket_versioning,
    "get-bucket-versioning" => get_bucket_versioning,
}

/// The CLI names of the S3 operations the console serves.
pub fn operations() -> impl Iterator<Item = &'static str> {
    OPERATIONS.iter().copied()
}

/// Sends an SDK request, turning a failure into the CLI's error for the named operation.
macro_rules! send {
    ($request:expr, $operation:literal) => {
        $request
            .send()
            .await
            .map_err(|e| sdk_error($operation, e))?
    };
}

/// An SDK failure as the CLI reports it.
pub fn sdk_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    operation: &str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> CmdError {
    crate::backend::client::s3_error(operation, e).into()
}

struct Sse {
    sse: Option<String>,
    kms_key: Option<String>,
    context: Option<String>,
    bucket_key: Option<bool>,
    customer_algorithm: Option<String>,
    customer_key: Option<String>,
    customer_key_md5: Option<String>,
}

/// An SSE-C key as the CLI takes it (`fileb://key.bin` or the raw text): the key and the MD5
/// of it, both base64, as botocore sends them (the Rust SDK does not compute the MD5 itself).
pub(crate) fn customer_key(value: &str, ctx: &Ctx<'_>) -> Result<(String, String), CmdError> {
    use base64::Engine as _;
    use md5::Digest as _;
    let bytes = zeroize::Zeroizing::new(args::load(value, ctx.workspace).map_err(CmdError::from)?);
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok((
        b64.encode(&bytes[..]),
        b64.encode(md5::Md5::digest(&bytes[..])),
    ))
}

fn take_sse(p: &mut Parsed, ctx: &Ctx<'_>, prefix: &str) -> Result<Sse, CmdError> {
    let one = |p: &mut Parsed, n: &str| p.take_one(n).map_err(CmdError::Usage);
    let (sse, kms_key, context, bucket_key) = if prefix.is_empty() {
        (
            one(p, "server-side-encryption")?,
            one(p, "ssekms-key-id")?,
            one(p, "ssekms-encryption-context")?,
            p.take_flag("bucket-key-enabled"),
        )
    } else {
        (None, None, None, None)
    };
    let key = one(p, &format!("{prefix}sse-customer-key"))?
        .map(|k| customer_key(&k, ctx))
        .transpose()?;
    let given_md5 = one(p, &format!("{prefix}sse-customer-key-md5"))?;
    let (customer_key, computed_md5) = key.unzip();
    Ok(Sse {
        sse,
        kms_key,
        context,
        bucket_key,
        customer_algorithm: one(p, &format!("{prefix}sse-customer-algorithm"))?,
        customer_key,
        customer_key_md5: given_md5.or(computed_md5),
    })
}

/// The `--bucket` of an operation that takes nothing else.
fn bucket_only(p: &mut Parsed) -> Result<String, CmdError> {
    let bucket = required(p, "bucket")?;
    p.finish().map_err(CmdError::Usage)?;
    Ok(bucket)
}

fn required(p: &mut Parsed, name: &str) -> Result<String, CmdError> {
    p.take_one(name)
        .map_err(CmdError::Usage)?
        .ok_or_else(|| CmdError::Usage(format!("the following arguments are required: --{name}")))
}

fn insert(out: &mut serde_json::Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        out.insert(key.to_string(), v.into());
    }
}

fn encryption_fields(
    out: &mut serde_json::Map<String, Value>,
    sse: Option<&ServerSideEncryption>,
    kms_key: Option<&str>,
    bucket_key: Option<bool>,
    customer_algorithm: Option<&str>,
    customer_md5: Option<&str>,
) {
    insert(
        out,
        "ServerSideEncryption",
        sse.map(|s| s.as_str().to_string()),
    );
    insert(out, "SSEKMSKeyId", kms_key.map(str::to_string));
    insert(out, "BucketKeyEnabled", bucket_key);
    insert(
        out,
        "SSECustomerAlgorithm",
        customer_algorithm.map(str::to_string),
    );
    insert(out, "SSECustomerKeyMD5", customer_md5.map(str::to_string));
}

fn metadata_value(m: Option<&std::collections::HashMap<String, String>>) -> Option<Value> {
    let m = m?;
    if m.is_empty() {
        return None;
    }
    let sorted: BTreeMap<&String, &String> = m.iter().collect();
    Some(json!(sorted))
}

/// Runs `aws s3api <operation> …`.
/// Runs `aws s3api <operation> …`.
pub async fn run(ctx: &Ctx<'_>, operation: &str, p: Parsed) -> Result<Value, CmdError> {
    if !OPERATIONS.contains(&operation) {
        return Err(CmdError::invalid_choice(
            "operation",
            OPERATIONS.iter().copied(),
        ));
    }
    let client = crate::backend::sdk::s3_client(&ctx.settings)
        .map_err(|e| CmdError::Other(e.to_string()))?;
    dispatch(ctx, &client, operation, p).await
}

async fn create_bucket(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        p.take("create-bucket-configuration");
        p.finish().map_err(CmdError::Usage)?;
        let out = send!(client.create_bucket().bucket(&bucket), "CreateBucket");
        json!({ "Location": out.location().unwrap_or(&format!("/{bucket}")) })
    };
    Ok(value)
}

async fn delete_bucket(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        send!(client.delete_bucket().bucket(bucket), "DeleteBucket");
        Value::Null
    };
    Ok(value)
}

async fn head_bucket(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        let out = send!(client.head_bucket().bucket(bucket), "HeadBucket");
        json!({ "BucketRegion": out.bucket_region() })
    };
    Ok(value)
}

async fn list_buckets(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        p.finish().map_err(CmdError::Usage)?;
        let out = send!(client.list_buckets(), "ListBuckets");
        let buckets: Vec<Value> = out
            .buckets()
            .iter()
            .map(|b| {
                json!({
                    "Name": b.name(),
                    "CreationDate": b.creation_date().map(|d| d.to_string()),
                })
            })
            .collect();
        json!({ "Buckets": buckets, "Owner": { "ID": out.owner().and_then(|o| o.id()) } })
    };
    Ok(value)
}

async fn put_object(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let key = required(&mut p, "key")?;
        let body = p.take_one("body").map_err(CmdError::Usage)?;
        let content_type = p.take_one("content-type").map_err(CmdError::Usage)?;
        let metadata = p
            .take_one("metadata")
            .map_err(CmdError::Usage)?
            .map(|m| args::load_map("metadata", &m, ctx.workspace))
            .transpose()
            .map_err(CmdError::from)?;
        let sse = take_sse(&mut p, ctx, "")?;
        p.finish().map_err(CmdError::Usage)?;
        let bytes = match body {
            Some(path) => crate::confine::read(ctx.workspace, &path).map_err(|e| match e {
                crate::confine::ConfineError::Io { .. } => {
                    CmdError::Other(format!("Error parsing parameter '--body': {e}"))
                }
                other => CmdError::from(other),
            })?,
            None => Vec::new(),
        };
        let out = send!(
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(bytes))
                .set_content_type(content_type)
                .set_metadata(metadata.map(|m| m.into_iter().collect()))
                .set_server_side_encryption(sse.sse.as_deref().map(ServerSideEncryption::from))
                .set_ssekms_key_id(sse.kms_key)
                .set_ssekms_encryption_context(sse.context)
                .set_bucket_key_enabled(sse.bucket_key)
                .set_sse_customer_algorithm(sse.customer_algorithm)
                .set_sse_customer_key(sse.customer_key)
                .set_sse_customer_key_md5(sse.customer_key_md5),
            "PutObject"
        );
        let mut o = serde_json::Map::new();
        insert(&mut o, "ETag", out.e_tag().map(str::to_string));
        encryption_fields(
            &mut o,
            out.server_side_encryption(),
            out.ssekms_key_id(),
            out.bucket_key_enabled(),
            out.sse_customer_algorithm(),
            out.sse_customer_key_md5(),
        );
        Value::Object(o)
    };
    Ok(value)
}

async fn get_object_or_head_object(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
    operation: &str,
) -> Result<Value, CmdError> {
    let value = {
        // Every option of these operations takes one value, so a word after one is the
        // positional outfile, wherever it stands (as argparse reads it).
        let mut rest: Vec<String> = Vec::new();
        for (_, values) in p.options.iter_mut() {
            if values.len() > 1 {
                rest.extend(values.drain(1..));
            }
        }
        rest.append(&mut p.trailing);
        let bucket = required(&mut p, "bucket")?;
        let key = required(&mut p, "key")?;
        let range = p.take_one("range").map_err(CmdError::Usage)?;
        let sse = take_sse(&mut p, ctx, "")?;
        if sse.sse.is_some() {
            return Err(CmdError::Usage(
                "Unknown options: --server-side-encryption".into(),
            ));
        }
        p.finish().map_err(CmdError::Usage)?;
        if operation == "head-object" {
            if !rest.is_empty() {
                return Err(CmdError::Usage(format!(
                    "Unknown options: {}",
                    rest.join(", ")
                )));
            }
            let out = send!(
                client
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .set_sse_customer_algorithm(sse.customer_algorithm)
                    .set_sse_customer_key(sse.customer_key)
                    .set_sse_customer_key_md5(sse.customer_key_md5),
                "HeadObject"
            );
            let mut o = serde_json::Map::new();
            insert(&mut o, "ContentLength", out.content_length());
            insert(&mut o, "ETag", out.e_tag().map(str::to_string));
            insert(
                &mut o,
                "ContentType",
                out.content_type().map(str::to_string),
            );
            insert(
                &mut o,
                "LastModified",
                out.last_modified().map(|d| d.to_string()),
            );
            encryption_fields(
                &mut o,
                out.server_side_encryption(),
                out.ssekms_key_id(),
                out.bucket_key_enabled(),
                out.sse_customer_algorithm(),
                out.sse_customer_key_md5(),
            );
            insert(&mut o, "Metadata", metadata_value(out.metadata()));
            return Ok(Value::Object(o));
        }
        let [outfile] = rest.as_slice() else {
            return Err(CmdError::Usage(
                "the following arguments are required: outfile".into(),
            ));
        };
        let out = send!(
            client
                .get_object()
                .bucket(bucket)
                .key(key)
                .set_range(range)
                .set_sse_customer_algorithm(sse.customer_algorithm)
                .set_sse_customer_key(sse.customer_key)
                .set_sse_customer_key_md5(sse.customer_key_md5),
            "GetObject"
        );
        let mut o = serde_json::Map::new();
        insert(&mut o, "ContentLength", out.content_length());
        insert(
            &mut o,
            "ContentRange",
            out.content_range().map(str::to_string),
        );
        insert(&mut o, "ETag", out.e_tag().map(str::to_string));
        insert(
            &mut o,
            "ContentType",
            out.content_type().map(str::to_string),
        );
        encryption_fields(
            &mut o,
            out.server_side_encryption(),
            out.ssekms_key_id(),
            out.bucket_key_enabled(),
            out.sse_customer_algorithm(),
            out.sse_customer_key_md5(),
        );
        insert(&mut o, "Metadata", metadata_value(out.metadata()));
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| CmdError::Other(format!("cannot read the object: {e}")))?
            .into_bytes();
        crate::confine::write(ctx.workspace, outfile, &data)?;
        Value::Object(o)
    };
    Ok(value)
}

async fn delete_object(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let key = required(&mut p, "key")?;
        p.finish().map_err(CmdError::Usage)?;
        send!(
            client.delete_object().bucket(bucket).key(key),
            "DeleteObject"
        );
        Value::Null
    };
    Ok(value)
}

async fn list_objects_v2(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let prefix = p.take_one("prefix").map_err(CmdError::Usage)?;
        p.finish().map_err(CmdError::Usage)?;
        let out = send!(
            client.list_objects_v2().bucket(&bucket).set_prefix(prefix),
            "ListObjectsV2"
        );
        let contents: Vec<Value> = out
            .contents()
            .iter()
            .map(|o| {
                json!({
                    "Key": o.key(),
                    "Size": o.size(),
                    "ETag": o.e_tag(),
                    "LastModified": o.last_modified().map(|d| d.to_string()),
                })
            })
            .collect();
        let mut o = serde_json::Map::new();
        if !contents.is_empty() {
            o.insert("Contents".into(), Value::Array(contents));
        }
        o.insert("Name".into(), json!(bucket));
        o.insert("KeyCount".into(), json!(out.key_count()));
        Value::Object(o)
    };
    Ok(value)
}

async fn copy_object(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let key = required(&mut p, "key")?;
        let source = required(&mut p, "copy-source")?;
        let directive = p.take_one("metadata-directive").map_err(CmdError::Usage)?;
        let metadata = p
            .take_one("metadata")
            .map_err(CmdError::Usage)?
            .map(|m| args::load_map("metadata", &m, ctx.workspace))
            .transpose()
            .map_err(CmdError::from)?;
        let sse = take_sse(&mut p, ctx, "")?;
        let source_sse = take_sse(&mut p, ctx, "copy-source-")?;
        p.finish().map_err(CmdError::Usage)?;
        let out = send!(
            client
                .copy_object()
                .bucket(bucket)
                .key(key)
                .copy_source(source)
                .set_metadata_directive(directive.as_deref().map(MetadataDirective::from))
                .set_metadata(metadata.map(|m| m.into_iter().collect()))
                .set_server_side_encryption(sse.sse.as_deref().map(ServerSideEncryption::from))
                .set_ssekms_key_id(sse.kms_key)
                .set_ssekms_encryption_context(sse.context)
                .set_bucket_key_enabled(sse.bucket_key)
                .set_sse_customer_algorithm(sse.customer_algorithm)
                .set_sse_customer_key(sse.customer_key)
                .set_sse_customer_key_md5(sse.customer_key_md5)
                .set_copy_source_sse_customer_algorithm(source_sse.customer_algorithm)
                .set_copy_source_sse_customer_key(source_sse.customer_key)
                .set_copy_source_sse_customer_key_md5(source_sse.customer_key_md5),
            "CopyObject"
        );
        let mut o = serde_json::Map::new();
        encryption_fields(
            &mut o,
            out.server_side_encryption(),
            out.ssekms_key_id(),
            out.bucket_key_enabled(),
            out.sse_customer_algorithm(),
            out.sse_customer_key_md5(),
        );
        o.insert(
            "CopyObjectResult".into(),
            json!({ "ETag": out.copy_object_result().and_then(|r| r.e_tag()) }),
        );
        Value::Object(o)
    };
    Ok(value)
}

async fn put_bucket_encryption(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let text = required(&mut p, "server-side-encryption-configuration")?;
        p.finish().map_err(CmdError::Usage)?;
        let config =
            args::load_structure("server-side-encryption-configuration", &text, ctx.workspace)
                .map_err(CmdError::from)?;
        let config = encryption_configuration(&config)?;
        send!(
            client
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(config),
            "PutBucketEncryption"
        );
        Value::Null
    };
    Ok(value)
}

async fn get_bucket_encryption(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        let out = send!(
            client.get_bucket_encryption().bucket(bucket),
            "GetBucketEncryption"
        );
        let rules: Vec<Value> = out
            .server_side_encryption_configuration()
            .map(|c| c.rules())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let mut rule = serde_json::Map::new();
                if let Some(d) = r.apply_server_side_encryption_by_default() {
                    let mut by_default = serde_json::Map::new();
                    by_default.insert("SSEAlgorithm".into(), json!(d.sse_algorithm().as_str()));
                    insert(
                        &mut by_default,
                        "KMSMasterKeyID",
                        d.kms_master_key_id().map(str::to_string),
                    );
                    rule.insert(
                        "ApplyServerSideEncryptionByDefault".into(),
                        Value::Object(by_default),
                    );
                }
                insert(&mut rule, "BucketKeyEnabled", r.bucket_key_enabled());
                if let Some(b) = r.blocked_encryption_types() {
                    let types: Vec<&str> = b.encryption_type().iter().map(|t| t.as_str()).collect();
                    rule.insert(
                        "BlockedEncryptionTypes".into(),
                        json!({ "EncryptionType": types }),
                    );
                }
                Value::Object(rule)
            })
            .collect();
        json!({ "ServerSideEncryptionConfiguration": { "Rules": rules } })
    };
    Ok(value)
}

async fn delete_bucket_encryption(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        send!(
            client.delete_bucket_encryption().bucket(bucket),
            "DeleteBucketEncryption"
        );
        Value::Null
    };
    Ok(value)
}

async fn put_bucket_policy(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let policy = required(&mut p, "policy")?;
        p.finish().map_err(CmdError::Usage)?;
        let policy = args::load_text(&policy, ctx.workspace).map_err(CmdError::from)?;
        send!(
            client.put_bucket_policy().bucket(bucket).policy(policy),
            "PutBucketPolicy"
        );
        Value::Null
    };
    Ok(value)
}

async fn get_bucket_policy(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        let out = send!(client.get_bucket_policy().bucket(bucket), "GetBucketPolicy");
        json!({ "Policy": out.policy() })
    };
    Ok(value)
}

async fn delete_bucket_policy(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        send!(
            client.delete_bucket_policy().bucket(bucket),
            "DeleteBucketPolicy"
        );
        Value::Null
    };
    Ok(value)
}

async fn put_public_access_block(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let text = required(&mut p, "public-access-block-configuration")?;
        p.finish().map_err(CmdError::Usage)?;
        let v = args::load_structure("public-access-block-configuration", &text, ctx.workspace)
            .map_err(CmdError::from)?;
        let flag = |name: &str| match v.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => Some(s.eq_ignore_ascii_case("true")),
            _ => None,
        };
        let config = PublicAccessBlockConfiguration::builder()
            .set_block_public_acls(flag("BlockPublicAcls"))
            .set_ignore_public_acls(flag("IgnorePublicAcls"))
            .set_block_public_policy(flag("BlockPublicPolicy"))
            .set_restrict_public_buckets(flag("RestrictPublicBuckets"))
            .build();
        send!(
            client
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(config),
            "PutPublicAccessBlock"
        );
        Value::Null
    };
    Ok(value)
}

async fn get_public_access_block(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        let out = send!(
            client.get_public_access_block().bucket(bucket),
            "GetPublicAccessBlock"
        );
        let c = out.public_access_block_configuration();
        json!({ "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": c.and_then(|c| c.block_public_acls()),
            "IgnorePublicAcls": c.and_then(|c| c.ignore_public_acls()),
            "BlockPublicPolicy": c.and_then(|c| c.block_public_policy()),
            "RestrictPublicBuckets": c.and_then(|c| c.restrict_public_buckets()),
        }})
    };
    Ok(value)
}

async fn delete_public_access_block(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        send!(
            client.delete_public_access_block().bucket(bucket),
            "DeletePublicAccessBlock"
        );
        Value::Null
    };
    Ok(value)
}

async fn put_bucket_versioning(
    ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = required(&mut p, "bucket")?;
        let text = required(&mut p, "versioning-configuration")?;
        p.finish().map_err(CmdError::Usage)?;
        let v = args::load_structure("versioning-configuration", &text, ctx.workspace)
            .map_err(CmdError::from)?;
        let status = v.get("Status").and_then(Value::as_str).unwrap_or_default();
        client
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::from(status))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("PutBucketVersioning", e))?;
        Value::Null
    };
    Ok(value)
}

async fn get_bucket_versioning(
    _ctx: &Ctx<'_>,
    client: &aws_sdk_s3::Client,
    mut p: Parsed,
) -> Result<Value, CmdError> {
    let value = {
        let bucket = bucket_only(&mut p)?;
        let out = send!(
            client.get_bucket_versioning().bucket(bucket),
            "GetBucketVersioning"
        );
        match out.status() {
            Some(s) => json!({ "Status": s.as_str() }),
            None => json!({}),
        }
    };
    Ok(value)
}

/// A `ServerSideEncryptionConfiguration` from the CLI's JSON.
fn encryption_configuration(v: &Value) -> Result<ServerSideEncryptionConfiguration, CmdError> {
    let bad = |m: &str| {
        CmdError::Usage(format!(
            "Error parsing parameter '--server-side-encryption-configuration': {m}. Expected {{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"…\"}},\"BucketKeyEnabled\":true}}]}}"
        ))
    };
    let rules = v
        .get("Rules")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("missing Rules"))?;
    let mut built = Vec::new();
    for rule in rules {
        let mut r = ServerSideEncryptionRule::builder();
        if let Some(d) = rule.get("ApplyServerSideEncryptionByDefault") {
            let algorithm = d
                .get("SSEAlgorithm")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("missing SSEAlgorithm"))?;
            let by_default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(algorithm))
                .set_kms_master_key_id(
                    d.get("KMSMasterKeyID")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
                .build()
                .map_err(|e| bad(&e.to_string()))?;
            r = r.apply_server_side_encryption_by_default(by_default);
        }
        if let Some(b) = rule.get("BucketKeyEnabled").and_then(Value::as_bool) {
            r = r.bucket_key_enabled(b);
        }
        if let Some(types) = rule
            .get("BlockedEncryptionTypes")
            .and_then(|b| b.get("EncryptionType"))
            .and_then(Value::as_array)
        {
            let mut blocked = BlockedEncryptionTypes::builder();
            for t in types.iter().filter_map(Value::as_str) {
                blocked = blocked.encryption_type(EncryptionType::from(t));
            }
            r = r.blocked_encryption_types(blocked.build());
        }
        built.push(r.build());
    }
    ServerSideEncryptionConfiguration::builder()
        .set_rules(Some(built))
        .build()
        .map_err(|e| bad(&e.to_string()))
}
