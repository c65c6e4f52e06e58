//! `keylab mask`: the masking engine as a command-line tool for any CSV or JSON Lines file,
//! streaming from a file or stdin to a file (written atomically) or stdout. A `kms:` key is
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
    /// The input (CSV or JSON Lines); `-` or none reads stdin
    input: Option<PathBuf>,
    /// Where to write; stdout when absent
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// csv or jsonl [default: from the input's extension, else csv]
    #[arg(long, value_parser = ["csv", "jsonl"])]
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
    /// Where to write; stdout when absent
    #[arg(short, long)]
    output: Option<PathBuf>,
}

/// Runs `keylab mask …`.
pub fn run(args: MaskArgs) -> Result<ExitCode> {
    match args.command {
        Some(MaskCommand::Analyze(a)) => analyze(a),
        Some(MaskCommand::Generate(g)) => generate(g),
        None => apply(args.apply),
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
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let endpoint = var("AWS_ENDPOINT_URL_KMS")
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .ok_or_else(|| {
            anyhow!(
                "the rules take their key from KMS: set AWS_ENDPOINT_URL (and credentials) to the KMS to ask — `keylab env EXERCISE` prints them for the lab engine"
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
    })
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
    let format = format_for(input_path.as_deref(), args.format.as_deref());
    let input: Box<dyn Read + Send> = match &input_path {
        Some(p) => Box::new(BufReader::with_capacity(
            1 << 20,
            File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        None => Box::new(std::io::stdin()),
    };
    let options = Options {
        threads: args.threads.unwrap_or(Options::default().threads),
        reverse: args.reverse,
        seed: args.seed,
        max_record_bytes: args.max_record_bytes,
        chunk_bytes: args.block_bytes.unwrap_or(Options::default().chunk_bytes),
        ..Options::default()
    };
    let summary = match &args.output {
        Some(out) => {
            let dir = out
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file());
            let summary = mask::stream::run(&rules, &plan, input, &mut writer, format, &options)?;
            writer.flush()?;
            drop(writer);
            tmp.as_file().sync_all()?;
            tmp.persist(out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            summary
        }
        None => {
            let stdout = std::io::stdout();
            let mut writer = BufWriter::with_capacity(1 << 20, stdout.lock());
            let summary = mask::stream::run(&rules, &plan, input, &mut writer, format, &options)?;
            writer.flush()?;
            summary
        }
    };
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
    Ok(ExitCode::SUCCESS)
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
        Some(path) => keylab_engine::fsutil::write_atomic(&path, csv.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(csv.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
