//! `aws s3 cp|ls|rm|mb|rb`: the high-level S3 commands, built on the same `aws-sdk-s3` client
//! as `s3api`, with the CLI's `--sse`, `--sse-kms-key-id`, `--sse-c` and `--sse-c-key` options
//! and its one-line reports (`upload: … to s3://…`). Objects move in one request (no multipart
//! split in the console).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::args::Parsed;
use super::s3api::{customer_key, sdk_error};
use super::{CmdError, Ctx};

fn s3_url(s: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Some((bucket.to_string(), key.to_string()))
}

fn positionals(p: &mut Parsed) -> Vec<String> {
    let mut out: Vec<String> = p.words.drain(..).skip(3).collect();
    out.append(&mut p.trailing);
    out
}

/// The `aws s3` commands.
pub const COMMANDS: &[&str] = &["cp", "ls", "mb", "rb", "rm"];

/// Runs `aws s3 <command> …`, returning the text the CLI prints.
pub async fn run(ctx: &Ctx<'_>, command: &str, mut p: Parsed) -> Result<String, CmdError> {
    let client = crate::backend::sdk::s3_client(&ctx.settings)
        .map_err(|e| CmdError::Other(e.to_string()))?;
    match command {
        "cp" => cp(ctx, &client, p).await,
        "ls" => {
            let args = positionals(&mut p);
            p.finish().map_err(CmdError::Usage)?;
            match args.first().and_then(|a| s3_url(a)) {
                None => {
                    let out = client
                        .list_buckets()
                        .send()
                        .await
                        .map_err(|e| sdk_error("ListBuckets", e))?;
                    Ok(out
                        .buckets()
                        .iter()
                        .map(|b| {
                            format!(
                                "{} {}\n",
                                date(b.creation_date()),
                                b.name().unwrap_or_default()
                            )
                        })
                        .collect())
                }
                Some((bucket, prefix)) => {
                    let out = client
                        .list_objects_v2()
                        .bucket(&bucket)
                        .prefix(prefix)
                        .send()
                        .await
                        .map_err(|e| sdk_error("ListObjectsV2", e))?;
                    Ok(out
                        .contents()
                        .iter()
                        .map(|o| {
                            format!(
                                "{} {:>10} {}\n",
                                date(o.last_modified()),
                                o.size().unwrap_or(0),
                                o.key().unwrap_or_default()
                            )
                        })
                        .collect())
                }
            }
        }
        "rm" => {
            let args = positionals(&mut p);
            p.finish().map_err(CmdError::Usage)?;
            let Some((bucket, key)) = args.first().and_then(|a| s3_url(a)) else {
                return Err(CmdError::Usage("aws s3 rm s3://bucket/key".into()));
            };
            client
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteObject", e))?;
            Ok(format!("delete: s3://{bucket}/{key}\n"))
        }
        "mb" | "rb" => {
            let args = positionals(&mut p);
            p.finish().map_err(CmdError::Usage)?;
            let Some((bucket, _)) = args.first().and_then(|a| s3_url(a)) else {
                return Err(CmdError::Usage(format!("aws s3 {command} s3://bucket")));
            };
            if command == "mb" {
                client
                    .create_bucket()
                    .bucket(&bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error("CreateBucket", e))?;
                Ok(format!("make_bucket: {bucket}\n"))
            } else {
                client
                    .delete_bucket()
                    .bucket(&bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DeleteBucket", e))?;
                Ok(format!("remove_bucket: {bucket}\n"))
            }
        }
        _ => Err(CmdError::invalid_choice(
            "command",
            COMMANDS.iter().copied(),
        )),
    }
}

fn date(d: Option<&aws_sdk_s3::primitives::DateTime>) -> String {
    d.and_then(|d| time::OffsetDateTime::from_unix_timestamp(d.secs()).ok())
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

async fn cp(ctx: &Ctx<'_>, client: &aws_sdk_s3::Client, mut p: Parsed) -> Result<String, CmdError> {
    let sse = p.take_one("sse").map_err(CmdError::Usage)?;
    let kms_key = p.take_one("sse-kms-key-id").map_err(CmdError::Usage)?;
    let sse_c = p.take_one("sse-c").map_err(CmdError::Usage)?;
    let (sse_c_key, sse_c_md5) = p
        .take_one("sse-c-key")
        .map_err(CmdError::Usage)?
        .map(|k| customer_key(&k, ctx))
        .transpose()?
        .unzip();
    let args = positionals(&mut p);
    p.finish().map_err(CmdError::Usage)?;
    let [from, to] = args.as_slice() else {
        return Err(CmdError::Usage(
            "the following arguments are required: paths (aws s3 cp <from> <to>)".into(),
        ));
    };
    match (s3_url(from), s3_url(to)) {
        (None, Some((bucket, key))) => {
            let key = if key.is_empty() || key.ends_with('/') {
                format!("{key}{}", from.rsplit('/').next().unwrap_or(from))
            } else {
                key
            };
            let bytes = crate::confine::read(ctx.workspace, from).map_err(|e| match e {
                crate::confine::ConfineError::Io { .. } => {
                    CmdError::Other(format!("The user-provided path {from} does not exist: {e}"))
                }
                other => CmdError::from(other),
            })?;
            client
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(ByteStream::from(bytes))
                .set_server_side_encryption(sse.as_deref().map(ServerSideEncryption::from))
                .set_ssekms_key_id(kms_key)
                .set_sse_customer_algorithm(sse_c)
                .set_sse_customer_key(sse_c_key)
                .set_sse_customer_key_md5(sse_c_md5)
                .send()
                .await
                .map_err(|e| sdk_error("PutObject", e))?;
            Ok(format!("upload: {from} to s3://{bucket}/{key}\n"))
        }
        (Some((bucket, key)), None) => {
            let out = client
                .get_object()
                .bucket(&bucket)
                .key(&key)
                .set_sse_customer_algorithm(sse_c)
                .set_sse_customer_key(sse_c_key)
                .set_sse_customer_key_md5(sse_c_md5)
                .send()
                .await
                .map_err(|e| sdk_error("GetObject", e))?;
            let data = out
                .body
                .collect()
                .await
                .map_err(|e| CmdError::Other(format!("download failed: {e}")))?
                .into_bytes();
            crate::confine::write(ctx.workspace, to, &data)?;
            Ok(format!("download: s3://{bucket}/{key} to {to}\n"))
        }
        (Some((sb, sk)), Some((db, dk))) => {
            client
                .copy_object()
                .bucket(&db)
                .key(&dk)
                .copy_source(format!("{sb}/{sk}"))
                .set_server_side_encryption(sse.as_deref().map(ServerSideEncryption::from))
                .set_ssekms_key_id(kms_key)
                .send()
                .await
                .map_err(|e| sdk_error("CopyObject", e))?;
            Ok(format!("copy: s3://{sb}/{sk} to s3://{db}/{dk}\n"))
        }
        (None, None) => Err(CmdError::Usage(
            "Error: Invalid argument type: at least one of the paths must be s3://".into(),
        )),
    }
}
