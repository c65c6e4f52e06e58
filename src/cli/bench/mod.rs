//! `keylab bench …`: measures what the targets in the README name, on this machine: the
//! engine ([`engine`]), S3 bodies ([`s3`]), `keylab verify`, the TUI's first frame, the engine
//! beside LocalStack, and `keylab mask` beside a plain Python script. Each prints figures (or
//! one JSON object with `--json`); none asserts a target, so a slow machine reports rather
//! than fails.

mod engine;
mod s3;

use self::engine::encrypt_load;
pub use self::engine::{EngineBenchArgs, engine};
pub use self::s3::{S3BenchArgs, s3};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use keylab::backend::sdk::{ClientSettings, engine_settings, kms_client};
use keylab_engine::{Engine, EngineConfig};

/// A scratch folder for one benchmark, removed when dropped.
fn scratch(label: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("keylab-bench-{label}-"))
        .tempdir()
        .context("cannot make a scratch folder")
}

async fn first_request(settings: &ClientSettings) -> Result<()> {
    let client = kms_client(settings)?;
    for _ in 0..500 {
        if client
            .generate_random()
            .number_of_bytes(16)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bail!("the engine did not answer")
}

async fn in_process_ready(dir: &Path) -> Result<f64> {
    let start = Instant::now();
    let engine = Engine::start(EngineConfig::new(dir)).await?;
    let settings =
        engine_settings(&engine, "owner-admin", false).context("owner-admin identity")?;
    first_request(&settings).await?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    engine.shutdown().await;
    Ok(ms)
}

/// `keylab engine serve` running as a separate process on free ports, for the benchmarks.
struct SpawnedEngine {
    child: std::process::Child,
    info: Value,
    pid: u32,
    started: Instant,
    _dir: tempfile::TempDir,
}

impl SpawnedEngine {
    fn start() -> Result<SpawnedEngine> {
        let dir = scratch("process")?;
        let exe = std::env::current_exe().context("cannot find the keylab executable")?;
        let started = Instant::now();
        let mut child = Command::new(&exe)
            .args([
                "engine",
                "serve",
                "--json",
                "--port",
                "0",
                "--tls-port",
                "0",
                "--state-dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start `keylab engine serve`")?;
        let pid = child.id();
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let info: Value =
            serde_json::from_str(&line).context("engine serve --json printed no JSON")?;
        Ok(SpawnedEngine {
            child,
            info,
            pid,
            started,
            _dir: dir,
        })
    }

    fn settings(&self, profile: &str, https: bool) -> Result<ClientSettings> {
        let id = self.info["identities"]
            .as_array()
            .and_then(|ids| ids.iter().find(|i| i["name"] == profile))
            .with_context(|| format!("no {profile} identity"))?;
        let ca_pem = if https {
            let path = self.info["ca_cert"].as_str().unwrap_or_default();
            Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?)
        } else {
            None
        };
        let endpoint = if https {
            &self.info["https"]
        } else {
            &self.info["http"]
        };
        Ok(ClientSettings {
            endpoint: endpoint.as_str().unwrap_or_default().to_string(),
            region: self.info["region"].as_str().unwrap_or_default().to_string(),
            access_key_id: id["access_key_id"].as_str().unwrap_or_default().to_string(),
            secret_access_key: id["secret_access_key"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ca_pem,
            session_token: None,
        })
    }
}

impl Drop for SpawnedEngine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `keylab bench verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyBenchArgs {
    /// How many times to verify the pack
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// A pack folder instead of the built-in pack
    #[arg(long)]
    pub pack: Option<std::path::PathBuf>,
}

/// Times `keylab verify` on the engine: seconds per exercise over several runs.
pub fn verify(args: VerifyBenchArgs) -> Result<ExitCode> {
    let pack =
        keylab::pack::Pack::open(args.pack.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rt = super::runtime()?;
    let exercises = pack.exercises.len().max(1) as f64;
    let mut per_exercise = Vec::new();
    for run in 0..args.runs.max(1) {
        let scratch = tempfile::tempdir()?;
        let started = Instant::now();
        let summary = rt.block_on(keylab::lab::verify::verify(
            &pack,
            keylab::pack::BackendKind::Engine,
            &keylab::lab::session::Target::Engine,
            scratch.path(),
            run as u64 + 1,
            |_| {},
        ));
        let secs = started.elapsed().as_secs_f64();
        if !summary.passed() {
            anyhow::bail!("the pack does not verify: run `keylab verify` to see what broke");
        }
        outln!(
            "run {}: {} stages, {secs:.3} s, {:.3} s per exercise",
            run + 1,
            summary.cases.len(),
            secs / exercises
        );
        per_exercise.push(secs / exercises);
    }
    per_exercise.sort_by(f64::total_cmp);
    outln!(
        "keylab verify on the engine: median {:.3} s per exercise (min {:.3}, max {:.3}; target < 0.5 s)",
        per_exercise[per_exercise.len() / 2],
        per_exercise[0],
        per_exercise[per_exercise.len() - 1]
    );
    Ok(ExitCode::SUCCESS)
}

/// `keylab bench tui`.
#[derive(Debug, clap::Args)]
pub struct TuiBenchArgs {
    /// Repetitions
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Times the TUI's first frame (load the pack and progress, build the app, draw 120×40) and
/// the frame of a long lesson, on ratatui's test backend.
pub fn tui(args: TuiBenchArgs) -> Result<ExitCode> {
    use keylab::front::tui::{app, theme::Theme, view};
    use ratatui::{Terminal, backend::TestBackend};
    let data = tempfile::tempdir()?;
    let mut first = Vec::new();
    for _ in 0..args.runs.max(1) {
        let started = Instant::now();
        let pack = std::sync::Arc::new(
            keylab::pack::Pack::embedded().map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let progress = keylab::lab::progress::Progress::load(&data.path().join("progress.json"))
            .map_err(|e| anyhow::anyhow!(e))?;
        let app = app::App::new(pack, progress, Theme::Dark, (120, 40));
        let mut terminal = Terminal::new(TestBackend::new(120, 40))?;
        terminal.draw(|f| view::draw(&app, f))?;
        first.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let pack = keylab::pack::Pack::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
    let long: String = (0..40)
        .flat_map(|_| pack.lessons.iter().map(|l| l.body.clone()))
        .collect::<Vec<_>>()
        .join("\n\n");
    let lines = long.lines().count();
    let mut render = Vec::new();
    let mut frame = Vec::new();
    for _ in 0..args.runs.max(1) {
        let started = Instant::now();
        let rendered = keylab::front::tui::markdown::render(&long, Theme::Dark, 118);
        render.push(started.elapsed().as_secs_f64() * 1000.0);
        let mut terminal = Terminal::new(TestBackend::new(120, 40))?;
        let started = Instant::now();
        terminal.draw(|f| {
            let widget =
                ratatui::widgets::Paragraph::new(ratatui::text::Text::from(rendered.clone()))
                    .wrap(ratatui::widgets::Wrap { trim: false })
                    .scroll(((lines / 2) as u16, 0));
            f.render_widget(widget, f.area());
        })?;
        frame.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (m, lo, hi) = median(first);
    outln!(
        "keylab TUI benchmark ({} runs, ratatui test backend 120x40)",
        args.runs
    );
    outln!(
        "  first frame (pack, progress, app, draw): median {m:.2} ms ({lo:.2}-{hi:.2}; target < 150 ms)"
    );
    let (m, lo, hi) = median(render);
    outln!(
        "  long lesson ({lines} Markdown lines) rendered to lines once: median {m:.2} ms ({lo:.2}-{hi:.2})"
    );
    let (m, lo, hi) = median(frame);
    outln!("  a frame of that lesson, scrolled to the middle: median {m:.2} ms ({lo:.2}-{hi:.2})");
    Ok(ExitCode::SUCCESS)
}

/// `keylab bench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareBenchArgs {
    /// The LocalStack endpoint [default: KEYLAB_LOCALSTACK_ENDPOINT]
    #[arg(long, env = "KEYLAB_LOCALSTACK_ENDPOINT")]
    pub endpoint: String,
    /// Seconds of KMS Encrypt load per backend
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

async fn s3_load(
    settings: &keylab::backend::sdk::ClientSettings,
    objects: usize,
) -> Result<(f64, f64)> {
    let client = keylab::backend::sdk::s3_client(settings)?;
    let bucket = format!("keylab-compare-{}", hex::encode(rand::random::<[u8; 4]>()));
    client.create_bucket().bucket(&bucket).send().await?;
    let body = vec![0x42u8; 1024 * 1024];
    let started = Instant::now();
    for i in 0..objects {
        client
            .put_object()
            .bucket(&bucket)
            .key(format!("o{i}"))
            .body(aws_sdk_s3::primitives::ByteStream::from(body.clone()))
            .send()
            .await?;
    }
    let put = objects as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..objects {
        let out = client
            .get_object()
            .bucket(&bucket)
            .key(format!("o{i}"))
            .send()
            .await?;
        out.body.collect().await?;
    }
    let get = objects as f64 / started.elapsed().as_secs_f64();
    for i in 0..objects {
        let _ = client
            .delete_object()
            .bucket(&bucket)
            .key(format!("o{i}"))
            .send()
            .await;
    }
    let _ = client.delete_bucket().bucket(&bucket).send().await;
    Ok((put, get))
}

/// The engine and LocalStack under the same client, over plain HTTP: KMS Encrypt requests per
/// second with 8 in flight, and 1 MiB PutObject/GetObject in MiB/s.
pub fn compare(args: CompareBenchArgs) -> Result<ExitCode> {
    let rt = super::runtime()?;
    let engine = SpawnedEngine::start()?;
    let engine_settings = engine.settings("owner-admin", false)?;
    let localstack = keylab::backend::Backend::endpoint("localstack", &args.endpoint, "us-east-1")
        .map_err(|e| anyhow::anyhow!(e))?;
    let localstack_settings = localstack
        .settings("owner-admin", false)
        .map_err(|e| anyhow::anyhow!(e))?;
    outln!(
        "engine vs LocalStack, same aws-sdk clients, plain HTTP, {} s of KMS load each",
        args.seconds
    );
    outln!("  backend       KMS Encrypt (8 in flight)   PutObject 1 MiB   GetObject 1 MiB");
    for (name, settings) in [
        ("engine", &engine_settings),
        ("localstack", &localstack_settings),
    ] {
        rt.block_on(first_request(settings))?;
        let (ok, failed, secs) =
            rt.block_on(encrypt_load(settings, 8, 256, args.seconds as f64))?;
        let (put, get) = rt.block_on(s3_load(settings, 32))?;
        outln!(
            "  {name:<12} {:>14.0} req/s ({failed} failed) {put:>11.1} MiB/s {get:>13.1} MiB/s",
            ok as f64 / secs
        );
    }
    drop(engine);
    Ok(ExitCode::SUCCESS)
}

/// `keylab bench mask`.
#[derive(Debug, clap::Args)]
pub struct MaskBenchArgs {
    /// Rows of the generated customers table
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u32,
    /// Runs per configuration (the fastest is reported)
    #[arg(long, default_value_t = 2)]
    pub runs: usize,
    /// The Python interpreter for the baseline (skipped when it cannot start)
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// The rule sets the benchmark times, over six sensitive columns of `customers`.
const MASK_RULE_SETS: &[(&str, &str)] = &[
    ("one-hmac", "email → hmac_token"),
    (
        "mask-and-hmac",
        "name → redact, email → hmac_token, phone/ssn → mask last 4, card → mask 6+4, birth_date → year",
    ),
    (
        "fpe",
        "name → redact, email → hmac_token, phone/ssn → FF1, card → FF1 6+4 Luhn, birth_date → year",
    ),
];

fn mask_rules(set: &str) -> String {
    let rule = |column: &str, body: &str| format!("\n[[rule]]\ncolumn = \"{column}\"\n{body}\n");
    let mut out =
        String::from("format_version = 1\n[key]\nsource = \"env:KEYLAB_BENCH_MASK_KEY\"\n");
    out.push_str(&rule(
        "email",
        "op = \"hmac_token\"\ndomain = \"email\"\nnormalize = \"email\"",
    ));
    if set == "one-hmac" {
        return out;
    }
    out.push_str(&rule("name", "op = \"redact\""));
    out.push_str(&rule("birth_date", "op = \"generalize\"\nto = \"year\""));
    if set == "mask-and-hmac" {
        out.push_str(&rule(
            "phone",
            "op = \"mask\"\nkeep_last = 4\nignore = \"-\"",
        ));
        out.push_str(&rule("ssn", "op = \"mask\"\nkeep_last = 4\nignore = \"-\""));
        out.push_str(&rule(
            "card_number",
            "op = \"mask\"\nkeep_first = 6\nkeep_last = 4",
        ));
    } else {
        out.push_str(&rule("phone", "op = \"fpe\""));
        out.push_str(&rule("ssn", "op = \"fpe\""));
        out.push_str(&rule(
            "card_number",
            "op = \"fpe\"\nkeep_prefix = 6\nkeep_suffix = 4\nluhn = true",
        ));
    }
    out
}

/// Runs a command to completion, sampling its peak resident memory; returns seconds and MB.
fn timed_child(mut command: Command) -> Result<(f64, Option<f64>)> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the benchmark child")?;
    let pid = child.id();
    let mut peak = None;
    let status = loop {
        if let Some(kb) = proc_status_kb(pid, "VmHWM:") {
            peak = Some(kb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut err)?;
        }
        bail!("the benchmark child failed: {}", err.trim());
    }
    Ok((secs, peak.map(|k| k as f64 / 1024.0)))
}

/// The plain Python `csv` + `hmac` script the mask benchmark compares with, embedded so the
/// benchmark runs from any installed binary.
const MASK_BASELINE: &str = include_str!("../../../benches/mask_baseline.py");

/// Times `keylab mask` on a generated table, one thread and every core, beside the plain
/// Python script in `benches/mask_baseline.py` doing the same rules.
pub fn mask(args: MaskBenchArgs) -> Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("customers.csv");
    let started = Instant::now();
    let csv =
        keylab_mask::generate::table("customers", args.rows, 42).map_err(|e| anyhow::anyhow!(e))?;
    std::fs::write(&input, &csv)?;
    let mb = csv.len() as f64 / 1e6;
    drop(csv);
    outln!(
        "keylab mask benchmark: {} rows of generated customers ({mb:.0} MB, made in {:.1} s), best of {} runs",
        args.rows,
        started.elapsed().as_secs_f64(),
        args.runs
    );
    let key = hex::encode(rand::random::<[u8; 32]>());
    let exe = std::env::current_exe()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let script = dir.path().join("mask_baseline.py");
    std::fs::write(&script, MASK_BASELINE)?;
    outln!(
        "  {:<14} {:>8} {:>12} {:>9} {:>10}",
        "rule set",
        "threads",
        "rows/s",
        "MB/s",
        "peak RSS"
    );
    let mut table = Vec::new();
    for (set, what) in MASK_RULE_SETS {
        let rules = dir.path().join(format!("{set}.toml"));
        std::fs::write(&rules, mask_rules(set))?;
        let mut best_single = f64::MAX;
        for threads in [1, cores] {
            let mut best: Option<(f64, Option<f64>)> = None;
            for _ in 0..args.runs.max(1) {
                let mut command = Command::new(&exe);
                command
                    .args(["mask", "--rules"])
                    .arg(&rules)
                    .arg("--threads")
                    .arg(threads.to_string())
                    .arg(&input)
                    .arg("-o")
                    .arg(dir.path().join("out.csv"))
                    .env("KEYLAB_BENCH_MASK_KEY", &key);
                let run = timed_child(command)?;
                if best.is_none_or(|b| run.0 < b.0) {
                    best = Some(run);
                }
            }
            let (secs, peak) = best.expect("at least one run");
            if threads == 1 {
                best_single = secs;
            }
            outln!(
                "  {set:<14} {threads:>8} {:>12.0} {:>9.1} {:>7.1} MB",
                args.rows as f64 / secs,
                mb / secs,
                peak.unwrap_or(0.0)
            );
            table.push(json!({"rules": set, "threads": threads, "rows_per_s": args.rows as f64 / secs, "mb_per_s": mb / secs, "peak_rss_mb": peak}));
        }
        if *set == "fpe" {
            outln!("    ({what})");
            continue;
        }
        let mut python = Command::new(&args.python);
        python
            .arg(&script)
            .arg(set)
            .arg(&input)
            .arg(dir.path().join("py.csv"))
            .arg(&key);
        match timed_child(python) {
            Ok((secs, peak)) => {
                outln!(
                    "  {:<14} {:>8} {:>12.0} {:>9.1} {:>7.1} MB   keylab is {:.1}× faster on one thread, {:.1}× on {cores}",
                    format!("{set} (py)"),
                    1,
                    args.rows as f64 / secs,
                    mb / secs,
                    peak.unwrap_or(0.0),
                    secs / best_single,
                    secs / table.last().map_or(secs, |r| args.rows as f64
                        / r["rows_per_s"].as_f64().unwrap_or(1.0)),
                );
                if *set == "one-hmac" {
                    let ours = std::fs::read(dir.path().join("out.csv"))?;
                    let theirs = std::fs::read(dir.path().join("py.csv"))?;
                    if ours != theirs {
                        bail!("keylab and the Python baseline disagree on the one-hmac output");
                    }
                }
            }
            Err(e) => outln!("  (the Python baseline did not run: {e})"),
        }
        outln!("    ({what})");
    }
    mask_parquet(&args, dir.path(), &input, &key, cores)?;
    Ok(ExitCode::SUCCESS)
}

/// Times `keylab mask` on the same rows as Parquet (dictionary-encoded UTF-8 columns, snappy,
/// 131,072 rows per row group) with the one-hmac rules.
fn mask_parquet(
    args: &MaskBenchArgs,
    dir: &Path,
    csv: &Path,
    key: &str,
    cores: usize,
) -> Result<()> {
    let parquet = dir.join("customers.parquet");
    let started = Instant::now();
    let mut bytes = Vec::new();
    keylab_mask::columnar::from_csv(
        std::io::BufReader::new(std::fs::File::open(csv)?),
        &mut bytes,
        131_072,
    )?;
    std::fs::write(&parquet, &bytes)?;
    let mb = bytes.len() as f64 / 1e6;
    drop(bytes);
    outln!(
        "  Parquet: the same rows, dictionary-encoded, snappy ({mb:.0} MB, made in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    for threads in [1, cores] {
        let mut best: Option<(f64, Option<f64>)> = None;
        for _ in 0..args.runs.max(1) {
            let mut command = Command::new(std::env::current_exe()?);
            command
                .args(["mask", "--rules"])
                .arg(dir.join("one-hmac.toml"))
                .arg("--threads")
                .arg(threads.to_string())
                .arg(&parquet)
                .arg("-o")
                .arg(dir.join("out.parquet"))
                .env("KEYLAB_BENCH_MASK_KEY", key);
            let run = timed_child(command)?;
            if best.is_none_or(|b| run.0 < b.0) {
                best = Some(run);
            }
        }
        let (secs, peak) = best.expect("at least one run");
        outln!(
            "  {:<14} {threads:>8} {:>12.0} {:>9.1} {:>7.1} MB",
            "one-hmac (pq)",
            args.rows as f64 / secs,
            mb / secs,
            peak.unwrap_or(0.0)
        );
    }
    outln!(
        "    (email → hmac_token in a Parquet file; the other twelve columns copied as encoded)"
    );
    Ok(())
}
