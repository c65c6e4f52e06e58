//! The console's `mask` commands, over [`keylab_mask`]: apply a rules file to a workspace
//! table (CSV, JSON Lines, or Parquet into Parquet), measure k-anonymity, generate synthetic
//! tables (`--out NAME.parquet` writes Parquet). A `kms:` key in the rules is a KMS
//! ciphertext blob decrypted here through the active backend as the console's identity, so
//! the key policy decides who can mask, and the Decrypt is in the audit log.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::args::Parsed;
use super::{CmdError, Ctx};
use crate::backend::sdk::ClientSettings;
use keylab_mask::{self as mask, Format, KeySource, Loaded, MasterKey, Options, Rules, Table};

/// The console's `mask` subcommands, for completion and help.
pub const COMMANDS: &[&str] = &["apply", "analyze", "generate"];

/// Finds the rules' master key: `env:` and `file:` locally, `kms:` by a Decrypt through
/// `settings` (an error without them). `Ok(None)` when no rule needs a key and none is named.
pub async fn resolve_key(
    settings: Option<&ClientSettings>,
    rules: &Rules,
    base: &Path,
) -> Result<Option<MasterKey>, String> {
    let Some(spec) = &rules.key else {
        if rules.needs_key() {
            return Err(format!(
                "{}: a rule needs a key and the rules have none: add [key] source = \"kms:FILE\" (a KMS-wrapped data key), \"env:NAME\" or \"file:PATH\"",
                rules.file
            ));
        }
        return Ok(None);
    };
    let source = KeySource::from_spec(spec, base).map_err(|e| e.to_string())?;
    match source.load_local().map_err(|e| e.to_string())? {
        Loaded::Key(key) => Ok(Some(key)),
        Loaded::KmsBlob(blob) => {
            let settings =
                settings.ok_or("the rules take their key from KMS and no KMS endpoint is set")?;
            let mut body = json!({ "CiphertextBlob": STANDARD.encode(&blob) });
            if !spec.context.is_empty() {
                body["EncryptionContext"] = json!(spec.context);
            }
            let out = crate::backend::client::kms_call(settings, "Decrypt", body)
                .await
                .map_err(|e| format!("the rules' KMS key could not be decrypted: {}", e))?;
            let plaintext = out
                .get("Plaintext")
                .and_then(Value::as_str)
                .and_then(|p| STANDARD.decode(p).ok())
                .ok_or("KMS Decrypt returned no plaintext")?;
            MasterKey::from_bytes(plaintext, &spec.source)
                .map(Some)
                .map_err(|e| e.to_string())
        }
    }
}

/// Refuses a `file:` or `kms:` key path of the rules that is absolute, climbs out of the
/// folder or leads out of it through a symlink.
pub fn confine_key_source(
    rules: &Rules,
    folder: &Path,
) -> Result<(), crate::confine::ConfineError> {
    let Some(spec) = &rules.key else {
        return Ok(());
    };
    let source = spec.source.trim();
    let path = source
        .strip_prefix("file:")
        .or_else(|| source.strip_prefix("kms:"));
    match path {
        Some(p) => crate::confine::existing_path(folder, p).map(|_| ()),
        None => Ok(()),
    }
}

/// Takes a single-valued option; further values are the positional words that followed it
/// (`mask --rules rules.toml customers.csv`).
fn take_one(p: &mut Parsed, name: &str, words: &mut Vec<String>) -> Option<String> {
    let mut values = p.take(name)?.into_iter();
    let first = values.next();
    words.extend(values);
    first
}

fn usage(m: impl Into<String>) -> CmdError {
    CmdError::Usage(m.into())
}

fn read_workspace(ctx: &Ctx<'_>, name: &str) -> Result<Vec<u8>, CmdError> {
    Ok(crate::confine::read(ctx.workspace, name)?)
}

fn format_of(name: &str) -> Result<Format, CmdError> {
    Format::from_name(name).ok_or_else(|| {
        usage(format!(
            "{name}: the format comes from the extension: .csv, .jsonl or .parquet"
        ))
    })
}

/// Masks a Parquet table into Parquet ([`mask::columnar`]): schema, row groups and the
/// encodings of untouched columns kept.
fn mask_parquet(
    rules: &Rules,
    key: Option<&MasterKey>,
    base: &Path,
    input: Vec<u8>,
    options: &Options,
) -> Result<(Vec<u8>, mask::Summary), mask::MaskError> {
    let plan = mask::Plan::new(rules, key, base)?;
    let mut out = Vec::with_capacity(input.len());
    let summary = mask::columnar::run(rules, &plan, bytes::Bytes::from(input), &mut out, options)?;
    Ok((out, summary))
}

/// Runs `mask [apply] --rules R IN [--out OUT] [--reverse]`, `mask analyze` or `mask generate`.
pub async fn run(ctx: &Ctx<'_>, mut p: Parsed) -> Result<String, CmdError> {
    let mut words: Vec<String> = p.words.drain(1..).chain(p.trailing.drain(..)).collect();
    let sub = match words.first().map(String::as_str) {
        Some(s) if COMMANDS.contains(&s) => words.remove(0),
        _ => "apply".to_string(),
    };
    match sub.as_str() {
        "analyze" => analyze(ctx, p, words),
        "generate" => generate(ctx, p, words),
        _ => apply(ctx, p, words).await,
    }
}

async fn apply(ctx: &Ctx<'_>, mut p: Parsed, mut words: Vec<String>) -> Result<String, CmdError> {
    let rules_name = take_one(&mut p, "rules", &mut words)
        .ok_or_else(|| usage("mask --rules RULES.toml INPUT [--out OUTPUT] [--reverse]"))?;
    let out_name = take_one(&mut p, "out", &mut words);
    let reverse = p.take_flag("reverse").unwrap_or(false);
    p.finish().map_err(usage)?;
    let [input_name] = words.as_slice() else {
        return Err(usage(
            "mask --rules RULES.toml INPUT [--out OUTPUT]: name one input file",
        ));
    };
    let parquet = mask::columnar::is_parquet_name(input_name);
    let format = if parquet {
        Format::Csv
    } else {
        format_of(input_name)?
    };
    if let Some(out) = &out_name
        && mask::columnar::is_parquet_name(out) != parquet
    {
        return Err(usage(format!(
            "{out}: a Parquet table is masked into Parquet and a CSV or JSON Lines one into its own format: name the output like the input"
        )));
    }
    if parquet && out_name.is_none() {
        return Err(usage(format!(
            "{input_name} is Parquet: name the masked file with --out FILE.parquet"
        )));
    }
    let text = String::from_utf8(read_workspace(ctx, &rules_name)?)
        .map_err(|_| CmdError::Other(format!("{rules_name} is not UTF-8 text")))?;
    let rules = Rules::parse(&rules_name, &text).map_err(|e| CmdError::Other(e.to_string()))?;
    confine_key_source(&rules, ctx.workspace)?;
    let key = resolve_key(Some(&ctx.settings), &rules, ctx.workspace)
        .await
        .map_err(CmdError::Other)?;
    let input = read_workspace(ctx, input_name)?;
    let base = ctx.workspace.to_path_buf();
    let options = Options {
        reverse,
        ..Options::default()
    };
    let (out, summary) = tokio::task::spawn_blocking(move || {
        if parquet {
            mask_parquet(&rules, key.as_ref(), &base, input, &options)
        } else {
            mask::mask_bytes(&rules, key.as_ref(), &base, &input, format, &options)
        }
    })
    .await
    .map_err(|e| CmdError::Other(format!("masking stopped: {e}")))?
    .map_err(|e| CmdError::Other(e.to_string()))?;
    let note = if summary.skipped.is_empty() {
        String::new()
    } else {
        format!(
            "note: {input_name} has no column {}: those optional rules were not applied\n",
            summary.skipped.join(", ")
        )
    };
    let Some(out_name) = out_name else {
        return Ok(format!("{}{note}", String::from_utf8_lossy(&out)));
    };
    crate::confine::write(ctx.workspace, &out_name, &out)?;
    let mut line = format!(
        "{} {} rows of {input_name} into {out_name}",
        if reverse { "revealed" } else { "masked" },
        summary.rows
    );
    if let Some(k) = summary.k {
        line.push_str(&format!(
            " (k = {k}, {} rows suppressed)",
            summary.suppressed
        ));
    }
    line.push('\n');
    line.push_str(&note);
    Ok(line)
}

fn analyze(ctx: &Ctx<'_>, mut p: Parsed, mut words: Vec<String>) -> Result<String, CmdError> {
    let qi = take_one(&mut p, "qi", &mut words)
        .ok_or_else(|| usage("mask analyze --qi COL,COL [--sensitive COL] [--k N] FILE"))?;
    let qi: Vec<String> = qi
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let sensitive = take_one(&mut p, "sensitive", &mut words);
    let k = take_one(&mut p, "k", &mut words)
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| usage(format!("--k {v}: not a number")))
        })
        .transpose()?;
    p.finish().map_err(usage)?;
    let [name] = words.as_slice() else {
        return Err(usage("mask analyze: name one file"));
    };
    let table = Table::parse(&read_workspace(ctx, name)?, format_of(name)?)
        .map_err(|e| CmdError::Other(format!("{name}: {e}")))?;
    let analysis = mask::analyze::analyze(&table, &qi, sensitive.as_deref(), k)
        .map_err(|e| CmdError::Other(format!("{name}: {e}")))?;
    Ok(analysis.to_text())
}

fn generate(ctx: &Ctx<'_>, mut p: Parsed, mut words: Vec<String>) -> Result<String, CmdError> {
    let mut number = |p: &mut Parsed, name: &str, default: u64| -> Result<u64, CmdError> {
        take_one(p, name, &mut words)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| usage(format!("--{name} {v}: not a number")))
            })
            .transpose()
            .map(|v| v.unwrap_or(default))
    };
    let rows = number(&mut p, "rows", 100)?;
    let seed = number(&mut p, "seed", 1)?;
    let out = take_one(&mut p, "out", &mut words);
    p.finish().map_err(usage)?;
    let [table] = words.as_slice() else {
        return Err(usage(format!(
            "mask generate TABLE [--rows N] [--seed N] [--out FILE]; tables: {}",
            mask::generate::TABLES.join(", ")
        )));
    };
    let csv =
        mask::generate::table(table, rows.min(u32::MAX as u64) as u32, seed).map_err(usage)?;
    let Some(out) = out else {
        return Ok(csv);
    };
    if mask::columnar::is_parquet_name(&out) {
        let mut parquet = Vec::new();
        mask::columnar::from_csv(csv.as_bytes(), &mut parquet, 10_000)
            .map_err(|e| CmdError::Other(e.to_string()))?;
        crate::confine::write(ctx.workspace, &out, &parquet)?;
    } else {
        crate::confine::write(ctx.workspace, &out, csv.as_bytes())?;
    }
    Ok(format!(
        "wrote {} rows of {table} to {out}\n",
        csv.lines().count() - 1
    ))
}
