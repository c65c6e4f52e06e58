//! `keylab mask`: the masking engine as a command-line tool for any CSV, JSON Lines or Parquet
//! file, streaming from a file or stdin to a file (written atomically) or stdout. Parquet
//! (`.parquet`, `.parq`, `.pq` or `--format parquet`) comes out as Parquet; its footer is at
//! the end, so Parquet on stdin is first spooled to a temporary file. A `kms:` key is
//! decrypted through the KMS endpoint the standard AWS variables name (`AWS_ENDPOINT_URL`,
//! `AWS_ACCESS_KEY_ID`, …; `keylab env` prints them for the lab engine).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};

use keylab::backend::sdk::ClientSettings;
use keylab_mask::{self as mask, Format, Options, Plan, Rules, Table};

use super::mask_s3::{self, S3Path};

/// `keylab mask` arguments.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MaskArgs {
    #[command(subcommand)]
    command: Option<MaskCommand>,
    #[command(flatten)]
    apply: ApplyArgs,
}

#[derive(Debug, Subcommand)]
enum MaskCommand {
    /// Report k-anonymity, l-diversity, suppression and utility for quasi-identifiers.
    Analyze(AnalyzeArgs),
    /// Write a deterministic synthetic table (customers, orders, users).
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
struct ApplyArgs {
    /// The rules file (TOML)
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The input (CSV, JSON Lines or Parquet): a file, s3://BUCKET/KEY, or `-`/none for stdin
    input: Option<PathBuf>,
    /// Where to write: a file (written atomically) or s3://BUCKET/KEY; stdout when absent.
    /// Parquet in is Parquet out
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// csv, jsonl or parquet [default: from the input's extension, else csv]
    #[arg(long, value_parser = ["csv", "jsonl", "parquet"])]
    format: Option<String>,
    /// Worker threads [default: every core]
    #[arg(long)]
    threads: Option<usize>,
    /// Undo deterministic_encrypt and fpe columns (needs the same key)
    #[arg(long)]
    reverse: bool,
    /// Seed for shuffle (random when absent)
    #[arg(long)]
    seed: Option<u64>,
    /// The longest CSV record accepted, in bytes: a stray quote would otherwise make the rest
    /// of the file one field
    #[arg(long, default_value_t = mask::stream::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
    /// SSE-KMS for an s3:// output under this KMS key (id, ARN or alias); the rules'
    /// `[output] sse_kms_key` otherwise
    #[arg(long)]
    sse_kms_key: Option<String>,
    /// Bytes per part of a multipart upload to S3 (larger outputs are sent in parts)
    #[arg(long, default_value_t = mask_s3::DEFAULT_PART_BYTES, hide = true)]
    s3_part_bytes: usize,
    /// Bytes per worker block (tests use small blocks to put cuts everywhere)
    #[arg(long, hide = true)]
    block_bytes: Option<usize>,
}

#[derive(Debug, Args)]
struct AnalyzeArgs {
    /// Quasi-identifier columns, comma-separated
    #[arg(long, value_delimiter = ',', required = true)]
    qi: Vec<String>,
    /// A sensitive column, for l-diversity
    #[arg(long)]
    sensitive: Option<String>,
    /// The k you aim for (normalises the average class size)
    #[arg(long)]
    k: Option<usize>,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// The table (CSV or JSON Lines)
    file: PathBuf,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// customers, orders (joins to customers made with the same --rows and --seed) or users
    table: String,
    /// Rows (for orders: the customers it joins to)
    #[arg(long, default_value_t = 1000)]
    rows: u32,
    /// The seed: the same seed gives the same bytes
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write (`.parquet` writes Parquet); stdout when absent
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Rows per Parquet row group, when writing Parquet
    #[arg(long, default_value_t = 131_072)]
    row_group_rows: usize,
}

/// Runs `keylab mask …`.
pub fn run(args: MaskArgs) -> Result<ExitCode> {
    match args.command {
        Some(MaskCommand::Analyze(a)) => analyze(a),
        Some(MaskCommand::Generate(g)) => generate(g),
        None => apply(args.apply),
    }
}

/// Whether the input is Parquet: `--format parquet`, or no `--format` and a Parquet name.
fn is_parquet(name: Option<&Path>, given: Option<&str>) -> bool {
    match given {
        Some(f) => f == "parquet",
        None => name.is_some_and(|n| mask::columnar::is_parquet_name(&n.to_string_lossy())),
    }
}

fn format_for(name: Option<&Path>, given: Option<&str>) -> Format {
    match given {
        Some("jsonl") => Format::Jsonl,
        Some(_) => Format::Csv,
        None => name
            .and_then(|n| Format::from_name(&n.to_string_lossy()))
            .unwrap_or(Format::Csv),
    }
}

fn kms_settings() -> Result<ClientSettings> {
    mask_s3::env_settings("KMS")
}

fn apply(args: ApplyArgs) -> Result<ExitCode> {
    let Some(rules_path) = args.rules else {
        bail!(
            "keylab mask needs --rules FILE (see `keylab mask --help`; `keylab mask generate customers` makes data to try)"
        );
    };
    let text = std::fs::read_to_string(&rules_path)
        .with_context(|| format!("cannot read the rules {}", rules_path.display()))?;
    let rules = Rules::parse(&rules_path.display().to_string(), &text)?;
    for warning in rules.warnings() {
        eprintln!("keylab: warning: {warning}");
    }
    let base = rules_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let needs_kms = rules
        .key
        .as_ref()
        .is_some_and(|k| k.source.starts_with("kms:"));
    let settings = if needs_kms {
        Some(kms_settings()?)
    } else {
        None
    };
    let runtime = super::runtime()?;
    let key = runtime
        .block_on(keylab::console::mask::resolve_key(
            settings.as_ref(),
            &rules,
            &base,
        ))
        .map_err(|e| anyhow!(e))?;
    let plan = Plan::new(&rules, key.as_ref(), &base)?;
    let input_path = args.input.filter(|p| p != Path::new("-"));
    let options = Options {
        threads: args.threads.unwrap_or(Options::default().threads),
        reverse: args.reverse,
        seed: args.seed,
        max_record_bytes: args.max_record_bytes,
        chunk_bytes: args.block_bytes.unwrap_or(Options::default().chunk_bytes),
        ..Options::default()
    };
    let s3_in = input_path
        .as_deref()
        .and_then(|p| S3Path::parse(&p.to_string_lossy()))
        .transpose()?;
    let s3_out = args
        .output
        .as_deref()
        .and_then(|p| S3Path::parse(&p.to_string_lossy()))
        .transpose()?;
    let sse = args
        .sse_kms_key
        .clone()
        .or_else(|| rules.output.as_ref().and_then(|o| o.sse_kms_key.clone()));
    if s3_out.is_none() && args.sse_kms_key.is_some() {
        bail!(
            "--sse-kms-key applies to an s3://BUCKET/KEY output (-o); a local file has no server-side encryption"
        );
    }
    let s3 = if s3_in.is_some() || s3_out.is_some() {
        Some(mask_s3::client()?)
    } else {
        None
    };
    // An S3 input is read from a local copy; its key names the format.
    let spool = match (&s3_in, &s3) {
        (Some(from), Some(client)) => {
            let mut tmp = tempfile::NamedTempFile::new().context("cannot make a temporary file")?;
            runtime.block_on(mask_s3::download(client, from, tmp.as_file_mut()))?;
            Some(tmp)
        }
        _ => None,
    };
    let name = match &s3_in {
        Some(from) => Some(PathBuf::from(&from.key)),
        None => input_path.clone(),
    };
    let masking = Masking {
        rules: &rules,
        plan: &plan,
        options: &options,
        input: spool.as_ref().map(|t| t.path()).or(input_path.as_deref()),
        parquet: is_parquet(name.as_deref(), args.format.as_deref()),
        format: format_for(name.as_deref(), args.format.as_deref()),
        label: match (&s3_in, &input_path) {
            (Some(from), _) => from.to_string(),
            (None, Some(p)) => p.display().to_string(),
            (None, None) => "stdin".into(),
        },
    };
    let target = Target {
        local: args.output.as_deref(),
        s3: s3_out.as_ref().zip(s3.as_ref()),
        sse: sse.as_deref(),
        part_bytes: args.s3_part_bytes,
    };
    let summary = target.write(&masking, runtime)?;
    report(&summary);
    Ok(ExitCode::SUCCESS)
}

/// Where the masked copy goes.
struct Target<'a> {
    local: Option<&'a Path>,
    s3: Option<(&'a S3Path, &'a aws_sdk_s3::Client)>,
    sse: Option<&'a str>,
    part_bytes: usize,
}

impl Target<'_> {
    /// Masks into a local file (atomically), S3 (uploaded after) or stdout.
    fn write(
        &self,
        masking: &Masking<'_>,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<mask::Summary> {
        Ok(match (self.local, self.s3) {
            (_, Some((to, client))) => {
                let mut tmp = tempfile::tempfile().context("cannot make a temporary file")?;
                let mut writer = BufWriter::with_capacity(1 << 20, &mut tmp);
                let summary = masking.run(&mut writer)?;
                writer.flush()?;
                drop(writer);
                let parts = runtime.block_on(mask_s3::upload(
                    client,
                    to,
                    &mut tmp,
                    self.sse,
                    self.part_bytes,
                ))?;
                eprintln!(
                    "keylab: wrote {to} ({}{})",
                    if parts > 1 {
                        format!("multipart, {parts} parts")
                    } else {
                        "one PutObject".into()
                    },
                    self.sse
                        .map(|k| format!(", SSE-KMS under {k}"))
                        .unwrap_or_default()
                );
                summary
            }
            (Some(out), None) => {
                if self.sse.is_some() {
                    eprintln!(
                        "keylab: note: [output] sse_kms_key applies to s3:// outputs; {} is a local file",
                        out.display()
                    );
                }
                let dir = out
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let tmp = tempfile::NamedTempFile::new_in(dir)
                    .with_context(|| format!("cannot write in {}", dir.display()))?;
                let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file());
                let summary = masking.run(&mut writer)?;
                writer.flush()?;
                drop(writer);
                tmp.as_file().sync_all()?;
                tmp.persist(out)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                summary
            }
            (None, None) => {
                // Stdout itself, not its lock: the Parquet writer wants a `Send` output.
                let mut writer = BufWriter::with_capacity(1 << 20, std::io::stdout());
                let summary = masking.run(&mut writer)?;
                writer.flush()?;
                summary
            }
        })
    }
}

/// What a run did that the user should know, on stderr.
fn report(summary: &mask::Summary) {
    if !summary.retyped.is_empty() {
        eprintln!(
            "keylab: the Parquet columns {} now hold the masked text as UTF-8 strings",
            summary.retyped.join(", ")
        );
    }
    if !summary.skipped.is_empty() {
        eprintln!(
            "keylab: the input has no column {}: those optional rules were not applied",
            summary.skipped.join(", ")
        );
    }
    if let Some(k) = summary.k {
        eprintln!(
            "keylab: {} rows, k = {k}, {} rows suppressed",
            summary.rows, summary.suppressed
        );
    }
}

/// One masking run: the rules, where the input is and what it is.
struct Masking<'a> {
    rules: &'a Rules,
    plan: &'a Plan,
    options: &'a Options,
    input: Option<&'a Path>,
    parquet: bool,
    format: Format,
    /// The input as the user named it, for messages.
    label: String,
}

impl Masking<'_> {
    fn run<W: Write + Send>(&self, output: W) -> Result<mask::Summary> {
        if self.parquet {
            let file = match self.input {
                Some(p) => File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
                None => {
                    // The footer is at the end: spool stdin to a file that can be read anywhere.
                    let mut spool = tempfile::tempfile().context("cannot spool stdin")?;
                    std::io::copy(&mut std::io::stdin().lock(), &mut spool)
                        .context("cannot read stdin")?;
                    spool
                }
            };
            return mask::columnar::run(self.rules, self.plan, file, output, self.options)
                .map_err(|e| anyhow!("{}: {e}", self.label));
        }
        let input: Box<dyn Read + Send> = match self.input {
            Some(p) => Box::new(BufReader::with_capacity(
                1 << 20,
                File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
            )),
            None => Box::new(std::io::stdin()),
        };
        Ok(mask::stream::run(
            self.rules,
            self.plan,
            input,
            output,
            self.format,
            self.options,
        )?)
    }
}

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let table = Table::parse(&bytes, format_for(Some(&args.file), None))
        .with_context(|| args.file.display().to_string())?;
    let analysis = mask::analyze::analyze(&table, &args.qi, args.sensitive.as_deref(), args.k)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&analysis)?);
    } else {
        out!("{}", analysis.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let csv = mask::generate::table(&args.table, args.rows, args.seed).map_err(|e| anyhow!(e))?;
    match args.output {
        Some(path) if mask::columnar::is_parquet_name(&path.to_string_lossy()) => {
            let mut bytes = Vec::new();
            mask::columnar::from_csv(csv.as_bytes(), &mut bytes, args.row_group_rows)?;
            keylab_engine::fsutil::write_atomic(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?
        }
        Some(path) => keylab_engine::fsutil::write_atomic(&path, csv.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(csv.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
