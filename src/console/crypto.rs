//! `crypto …`: client-side encryption helpers, so a learner can do envelope encryption by hand
//! and see each piece. `encrypt`/`decrypt` work on workspace files with a data key from
//! `aws kms generate-data-key`; `put-object`/`get-object` follow the Amazon S3 Encryption
//! Client's V2 format ([`crate::backend::envelope`]). Files encrypted with `encrypt` get the
//! same metadata in a `<file>.meta.json` beside them. `inspect-blob` and `context` show what a ciphertext blob
//! and an encryption context hold. Keys live in `Zeroizing` buffers and are never printed.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::args::{self, Parsed};
use super::{CmdError, Ctx};
use crate::backend::client::s3_error;
use crate::backend::envelope::{CEK_ALG, blob_bytes, fetch, metadata, open, plaintext_key, seal};

/// The `crypto` commands.
pub const COMMANDS: &[&str] = &[
    "context",
    "decrypt",
    "encrypt",
    "get-object",
    "inspect-blob",
    "put-object",
];

fn usage(m: impl Into<String>) -> CmdError {
    CmdError::Usage(m.into())
}

fn need(p: &mut Parsed, name: &str) -> Result<String, CmdError> {
    p.take_one(name)
        .map_err(CmdError::Usage)?
        .ok_or_else(|| usage(format!("the following arguments are required: --{name}")))
}

fn read(ctx: &Ctx<'_>, path: &str) -> Result<Vec<u8>, CmdError> {
    Ok(crate::confine::read(
        ctx.workspace,
        path.trim_start_matches("fileb://"),
    )?)
}

fn write(ctx: &Ctx<'_>, path: &str, bytes: &[u8]) -> Result<(), CmdError> {
    Ok(crate::confine::write(ctx.workspace, path, bytes)?)
}

/// `--context k=v,…` (or JSON), empty when absent.
fn take_context(p: &mut Parsed, ctx: &Ctx<'_>) -> Result<BTreeMap<String, String>, CmdError> {
    Ok(p.take_one("context")
        .map_err(CmdError::Usage)?
        .map(|c| args::load_map("context", &c, ctx.workspace))
        .transpose()
        .map_err(CmdError::from)?
        .unwrap_or_default())
}

/// Runs `crypto <command> …`.
pub async fn run(ctx: &Ctx<'_>, command: Option<&str>, mut p: Parsed) -> Result<String, CmdError> {
    let Some(command) = command.filter(|c| COMMANDS.contains(c)) else {
        return Err(CmdError::invalid_choice(
            "crypto command",
            COMMANDS.iter().copied(),
        ));
    };
    match command {
        "encrypt" => encrypt(ctx, p).await,
        "decrypt" => {
            let input = need(&mut p, "in")?;
            let output = need(&mut p, "out")?;
            let meta_path = p
                .take_one("meta")
                .map_err(CmdError::Usage)?
                .unwrap_or_else(|| format!("{input}.meta.json"));
            p.finish().map_err(CmdError::Usage)?;
            let meta: BTreeMap<String, String> = serde_json::from_slice(&read(ctx, &meta_path)?)
                .map_err(|e| usage(format!("{meta_path}: not envelope metadata ({e})")))?;
            let plaintext = open(&ctx.settings, &meta, &read(ctx, &input)?).await?;
            write(ctx, &output, &plaintext)?;
            Ok(format!(
                "decrypted {input} to {output} ({} bytes)\n",
                plaintext.len()
            ))
        }
        "put-object" => put_object(ctx, p).await,
        "get-object" => {
            let bucket = need(&mut p, "bucket")?;
            let key = need(&mut p, "key")?;
            let output = need(&mut p, "out")?;
            p.finish().map_err(CmdError::Usage)?;
            let (meta, body) = fetch(&ctx.settings, &bucket, &key).await?;
            let plaintext = open(&ctx.settings, &meta, &body).await?;
            write(ctx, &output, &plaintext)?;
            Ok(format!(
                "downloaded s3://{bucket}/{key} and decrypted it to {output}\n"
            ))
        }
        "inspect-blob" => inspect_blob(ctx, p).await,
        _ => {
            let pairs = p
                .words
                .get(2)
                .cloned()
                .ok_or_else(|| usage("crypto context k=v,k2=v2 (or a JSON object)"))?;
            p.finish().map_err(CmdError::Usage)?;
            let map = args::load_map("context", &pairs, ctx.workspace).map_err(CmdError::from)?;
            let canonical: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Ok(super::output::render(
                &json!({
                    "EncryptionContext": map,
                    "BoundAs": canonical.join(","),
                    "Note": "KMS binds these pairs to the ciphertext as authenticated data: Decrypt must send exactly the same pairs (case-sensitive, any order). They are logged in CloudTrail in plaintext, so never put secrets in them.",
                }),
                super::output::Format::Json,
            ))
        }
    }
}

async fn encrypt(ctx: &Ctx<'_>, mut p: Parsed) -> Result<String, CmdError> {
    let key_file = need(&mut p, "data-key")?;
    let input = need(&mut p, "in")?;
    let output = need(&mut p, "out")?;
    let context = take_context(&mut p, ctx)?;
    p.finish().map_err(CmdError::Usage)?;
    let data_key: Value = serde_json::from_slice(&read(ctx, &key_file)?).map_err(|e| {
        usage(format!(
            "--data-key {key_file}: not the JSON output of aws kms generate-data-key ({e})"
        ))
    })?;
    let field = |k: &str| {
        data_key.get(k).and_then(Value::as_str).ok_or_else(|| {
            usage(format!("--data-key {key_file}: no {k} field (save the output of aws kms generate-data-key with > {key_file})"))
        })
    };
    let key = Zeroizing::new(
        STANDARD
            .decode(field("Plaintext")?)
            .map_err(|_| usage("the Plaintext field is not base64"))?,
    );
    let blob = STANDARD
        .decode(field("CiphertextBlob")?)
        .map_err(|_| usage("the CiphertextBlob field is not base64"))?;
    let plaintext = Zeroizing::new(read(ctx, &input)?);
    let (ct, iv) = seal(&key, &plaintext)?;
    write(ctx, &output, &ct)?;
    let meta = metadata(&blob, &iv, &context, plaintext.len());
    let meta_path = format!("{output}.meta.json");
    write(
        ctx,
        &meta_path,
        serde_json::to_string_pretty(&meta)
            .expect("maps serialize")
            .as_bytes(),
    )?;
    Ok(format!(
        "encrypted {input} ({} bytes) to {output}; envelope metadata in {meta_path}\n",
        plaintext.len()
    ))
}

async fn put_object(ctx: &Ctx<'_>, mut p: Parsed) -> Result<String, CmdError> {
    let bucket = need(&mut p, "bucket")?;
    let key = need(&mut p, "key")?;
    let input = need(&mut p, "in")?;
    let key_id = need(&mut p, "key-id")?;
    let mut context = take_context(&mut p, ctx)?;
    p.finish().map_err(CmdError::Usage)?;
    context.insert("aws:x-amz-cek-alg".into(), CEK_ALG.into());
    let out = super::kms::call(
        ctx,
        "GenerateDataKey",
        json!({ "KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": context }),
    )
    .await?;
    let key_bytes = plaintext_key(&out)?;
    let blob = STANDARD
        .decode(
            out.get("CiphertextBlob")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )
        .map_err(|_| CmdError::Other("KMS returned no ciphertext blob".into()))?;
    let plaintext = Zeroizing::new(read(ctx, &input)?);
    let (ct, iv) = seal(&key_bytes, &plaintext)?;
    let meta = metadata(&blob, &iv, &context, plaintext.len());
    let client = crate::backend::sdk::s3_client(&ctx.settings)
        .map_err(|e| CmdError::Other(e.to_string()))?;
    client
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(ByteStream::from(ct))
        .set_metadata(Some(meta.into_iter().collect()))
        .send()
        .await
        .map_err(|e| s3_error("PutObject", e))?;
    Ok(format!(
        "encrypted {input} client-side and uploaded it to s3://{bucket}/{key}\n"
    ))
}

async fn inspect_blob(ctx: &Ctx<'_>, mut p: Parsed) -> Result<String, CmdError> {
    let input = match p.take_one("in").map_err(CmdError::Usage)? {
        Some(i) => i,
        None => p
            .words
            .get(2)
            .cloned()
            .ok_or_else(|| usage("crypto inspect-blob --in FILE"))?,
    };
    p.finish().map_err(CmdError::Usage)?;
    let bytes = blob_bytes(&read(ctx, &input)?);
    let mut out = serde_json::Map::new();
    out.insert("Bytes".into(), json!(bytes.len()));
    match keylab_engine::kms::blob::inspect(&bytes) {
        Some(header) => {
            out.insert("KeyArn".into(), json!(header.key_arn));
            out.insert("KeyMaterialId".into(), json!(header.material_id));
            out.insert(
                "Note".into(),
                json!("The blob names its key, so Decrypt needs no KeyId; the encryption context is not in it and must be sent again."),
            );
        }
        None => {
            out.insert(
                "Note".into(),
                json!(
                    "Not a keylab engine ciphertext blob (another backend's format, or not a blob)."
                ),
            );
        }
    }
    Ok(super::output::render(
        &Value::Object(out),
        super::output::Format::Json,
    ))
}
