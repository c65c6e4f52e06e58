//! `crypto …`: client-side encryption helpers, so a learner can do envelope encryption by hand
//! and see each piece. `encrypt`/`decrypt` work on workspace files with a data key from
//! `aws kms generate-data-key`; `put-object`/`get-object` follow the Amazon S3 Encryption
//! Client v2 format (`x-amz-key-v2`, `x-amz-iv`, `x-amz-cek-alg = AES/GCM/NoPadding`,
//! `x-amz-wrap-alg = kms+context`, `x-amz-matdesc`, `x-amz-tag-len = 128`), whose encryption
//! context carries `aws:x-amz-cek-alg`. Files encrypted with `encrypt` get the same metadata in
//! a `<file>.meta.json` beside them. `inspect-blob` and `context` show what a ciphertext blob
//! and an encryption context hold. Keys live in `Zeroizing` buffers and are never printed.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::args::{self, Parsed};
use super::s3api::sdk_error;
use super::{CmdError, Ctx};

/// The content-encryption algorithm of S3 Encryption Client v2.
pub const CEK_ALG: &str = "AES/GCM/NoPadding";

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
    std::fs::read(ctx.workspace.join(path.trim_start_matches("fileb://")))
        .map_err(|e| CmdError::Other(format!("{path}: {e}")))
}

fn write(ctx: &Ctx<'_>, path: &str, bytes: &[u8]) -> Result<(), CmdError> {
    keylab_engine::fsutil::write_atomic(&ctx.workspace.join(path), bytes)
        .map_err(|e| CmdError::Other(format!("cannot write {path}: {e}")))
}

/// The envelope metadata of one encrypted body.
pub fn metadata(
    blob: &[u8],
    iv: &[u8],
    context: &BTreeMap<String, String>,
    len: usize,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("x-amz-key-v2".to_string(), STANDARD.encode(blob)),
        ("x-amz-iv".to_string(), STANDARD.encode(iv)),
        ("x-amz-cek-alg".to_string(), CEK_ALG.to_string()),
        ("x-amz-wrap-alg".to_string(), "kms+context".to_string()),
        (
            "x-amz-matdesc".to_string(),
            serde_json::to_string(context).expect("maps serialize"),
        ),
        ("x-amz-tag-len".to_string(), "128".to_string()),
        (
            "x-amz-unencrypted-content-length".to_string(),
            len.to_string(),
        ),
    ])
}

/// The plaintext data key of a KMS response (`Plaintext`, base64).
fn plaintext_key(out: &Value) -> Result<Zeroizing<Vec<u8>>, CmdError> {
    let text = out
        .get("Plaintext")
        .and_then(Value::as_str)
        .unwrap_or_default();
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| CmdError::Other("KMS returned no data key".into()))
}

/// `--context k=v,…` (or JSON), empty when absent.
fn take_context(p: &mut Parsed, ctx: &Ctx<'_>) -> Result<BTreeMap<String, String>, CmdError> {
    Ok(p.take_one("context")
        .map_err(CmdError::Usage)?
        .map(|c| args::load_map("context", &c, ctx.workspace))
        .transpose()
        .map_err(CmdError::Usage)?
        .unwrap_or_default())
}

fn seal(key: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; 12]), CmdError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| {
        CmdError::Other("the data key is not 32 bytes (use --key-spec AES_256)".into())
    })?;
    let mut iv = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad: &[],
            },
        )
        .map_err(|_| CmdError::Other("encryption failed".into()))?;
    Ok((ct, iv))
}

/// Opens a body given its metadata, asking KMS (as the context's identity) for the data key.
pub async fn open(
    ctx: &Ctx<'_>,
    meta: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CmdError> {
    let field = |k: &str| {
        meta.get(k)
            .ok_or_else(|| CmdError::Other(format!("the envelope metadata has no {k}: this was not encrypted client-side with kms+context")))
    };
    if field("x-amz-wrap-alg")? != "kms+context" || field("x-amz-cek-alg")? != CEK_ALG {
        return Err(CmdError::Other(
            "only x-amz-wrap-alg kms+context with AES/GCM/NoPadding is supported".into(),
        ));
    }
    let context: BTreeMap<String, String> = serde_json::from_str(field("x-amz-matdesc")?)
        .map_err(|e| CmdError::Other(format!("x-amz-matdesc is not a JSON map: {e}")))?;
    let iv = STANDARD
        .decode(field("x-amz-iv")?)
        .map_err(|_| CmdError::Other("x-amz-iv is not base64".into()))?;
    if iv.len() != 12 {
        return Err(CmdError::Other("x-amz-iv must be 12 bytes".into()));
    }
    let out = super::kms::call(
        ctx,
        "Decrypt",
        json!({ "CiphertextBlob": field("x-amz-key-v2")?, "EncryptionContext": context }),
    )
    .await?;
    let key = plaintext_key(&out)?;
    let cipher = Aes256Gcm::new_from_slice(&key)
        .map_err(|_| CmdError::Other("the data key is not 32 bytes".into()))?;
    cipher
        .decrypt(Nonce::from_slice(&iv), Payload { msg: body, aad: &[] })
        .map(Zeroizing::new)
        .map_err(|_| {
            CmdError::Other("the ciphertext failed authentication: it was changed, or encrypted with another key".into())
        })
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
        "encrypt" => {
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
            let plaintext = open(ctx, &meta, &read(ctx, &input)?).await?;
            write(ctx, &output, &plaintext)?;
            Ok(format!(
                "decrypted {input} to {output} ({} bytes)\n",
                plaintext.len()
            ))
        }
        "put-object" => {
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
            let client =
                crate::sdk::s3_client(&ctx.settings).map_err(|e| CmdError::Other(e.to_string()))?;
            client
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(ByteStream::from(ct))
                .set_metadata(Some(meta.into_iter().collect()))
                .send()
                .await
                .map_err(|e| sdk_error("PutObject", e))?;
            Ok(format!(
                "encrypted {input} client-side and uploaded it to s3://{bucket}/{key}\n"
            ))
        }
        "get-object" => {
            let bucket = need(&mut p, "bucket")?;
            let key = need(&mut p, "key")?;
            let output = need(&mut p, "out")?;
            p.finish().map_err(CmdError::Usage)?;
            let (meta, body) = fetch(ctx, &bucket, &key).await?;
            let plaintext = open(ctx, &meta, &body).await?;
            write(ctx, &output, &plaintext)?;
            Ok(format!(
                "downloaded s3://{bucket}/{key} and decrypted it to {output}\n"
            ))
        }
        "inspect-blob" => {
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
            match keylab_engine::kms::blob::parse_header(&bytes) {
                Some((header, _)) => {
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
                        json!("Not a keylab engine ciphertext blob (another backend's format, or not a blob)."),
                    );
                }
            }
            Ok(super::output::render(
                &Value::Object(out),
                super::output::Format::Json,
            ))
        }
        _ => {
            let pairs = p
                .words
                .get(2)
                .cloned()
                .ok_or_else(|| usage("crypto context k=v,k2=v2 (or a JSON object)"))?;
            p.finish().map_err(CmdError::Usage)?;
            let map = args::load_map("context", &pairs, ctx.workspace).map_err(CmdError::Usage)?;
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

/// A blob file's bytes: raw, or base64 text (as `--output text --query CiphertextBlob`
/// writes it), or the JSON output of an operation that returns one.
pub fn blob_bytes(file: &[u8]) -> Vec<u8> {
    if let Ok(v) = serde_json::from_slice::<Value>(file)
        && let Some(b) = v.get("CiphertextBlob").and_then(Value::as_str)
        && let Ok(bytes) = STANDARD.decode(b)
    {
        return bytes;
    }
    if let Ok(text) = std::str::from_utf8(file)
        && let Ok(bytes) = STANDARD.decode(text.trim())
    {
        return bytes;
    }
    file.to_vec()
}

/// Downloads an object with its metadata.
pub async fn fetch(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
) -> Result<(BTreeMap<String, String>, Vec<u8>), CmdError> {
    let client =
        crate::sdk::s3_client(&ctx.settings).map_err(|e| CmdError::Other(e.to_string()))?;
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| sdk_error("GetObject", e))?;
    let meta: BTreeMap<String, String> = out
        .metadata()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| CmdError::Other(format!("cannot read the object: {e}")))?
        .into_bytes()
        .to_vec();
    Ok((meta, body))
}
