//! `keylab bench engine`: the engine's readiness, KMS Encrypt throughput and CPU time per
//! request, memory, and whether one more write costs the same in a large state as in an empty
//! one.
//!
//! - ready: time from `Engine::start` to the first successful signed request, in process
//!   (fresh state directory, and again on restart with existing state), and from spawning
//!   `keylab engine serve` as a separate process to its first successful request;
//! - KMS Encrypt requests per second through `aws-sdk-kms` with N requests in flight against
//!   that separate engine process, SigV4 verification and policy evaluation on, and the engine
//!   process's CPU time (user + system, from `/proc`) divided by the requests it served;
//! - the engine process's resident memory (idle, after the load, peak);
//! - scale: the median latency of one CreateKey and one 1 KiB PutObject, on the empty state and
//!   again after filling it with `--keys` keys and `--objects` objects.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use aws_sdk_kms::primitives::Blob;
use serde_json::{Value, json};

use super::{SpawnedEngine, first_request, in_process_ready, proc_status_kb, scratch};
use keylab::backend::sdk::{ClientSettings, kms_client, s3_client};

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A process's CPU time so far (user + system, every thread), in seconds.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

const SCALE_BUCKET: &str = "bench-scale";
const SCALE_SAMPLES: usize = 200;
const FILL_IN_FLIGHT: usize = 16;

/// Median milliseconds of one CreateKey and of one 1 KiB PutObject, sent one at a time.
async fn one_write_ms(settings: &ClientSettings, label: &str) -> Result<(f64, f64)> {
    let kms = kms_client(settings)?;
    let s3 = s3_client(settings)?;
    let mut keys = Vec::with_capacity(SCALE_SAMPLES);
    let mut puts = Vec::with_capacity(SCALE_SAMPLES);
    for i in 0..SCALE_SAMPLES {
        let start = Instant::now();
        kms.create_key().send().await?;
        keys.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        s3.put_object()
            .bucket(SCALE_BUCKET)
            .key(format!("sample/{label}/{i}"))
            .body(vec![0x42u8; 1024].into())
            .send()
            .await?;
        puts.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((super::median(keys).0, super::median(puts).0))
}

/// Creates `total` things with `FILL_IN_FLIGHT` requests in flight.
async fn fill<F, Fut>(total: usize, make: F) -> Result<()>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..FILL_IN_FLIGHT {
        let (next, make) = (next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                make(i).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// The cost of one more CreateKey and PutObject on an empty state and on one of `keys` keys
/// and `objects` objects.
async fn write_cost_at_scale(
    settings: &ClientSettings,
    keys: usize,
    objects: usize,
    pid: u32,
) -> Result<Value> {
    s3_client(settings)?
        .create_bucket()
        .bucket(SCALE_BUCKET)
        .send()
        .await?;
    let (key_empty, put_empty) = one_write_ms(settings, "empty").await?;
    let started = Instant::now();
    let kms = kms_client(settings)?;
    fill(keys, move |_| {
        let kms = kms.clone();
        async move {
            kms.create_key().send().await?;
            Ok(())
        }
    })
    .await?;
    let s3 = s3_client(settings)?;
    fill(objects, move |i| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket(SCALE_BUCKET)
                .key(format!("fill/{i:08}"))
                .body(vec![0x24u8; 1024].into())
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;
    let fill_secs = started.elapsed().as_secs_f64();
    let (key_full, put_full) = one_write_ms(settings, "full").await?;
    Ok(json!({
        "keys": keys,
        "objects": objects,
        "fill_seconds": fill_secs,
        "create_key_ms_empty": key_empty,
        "create_key_ms_full": key_full,
        "put_object_ms_empty": put_empty,
        "put_object_ms_full": put_full,
        "engine_rss_full_mb": proc_status_kb(pid, "VmRSS:").map(|k| k as f64 / 1024.0),
        "engine_rss_peak_mb": proc_status_kb(pid, "VmHWM:").map(|k| k as f64 / 1024.0),
    }))
}

fn print_scale(s: &Value) -> Result<()> {
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    outln!(
        "  one more write, median of {SCALE_SAMPLES}: empty state → {} keys and {} objects (filled in {:.0} s)",
        s["keys"],
        s["objects"],
        f("fill_seconds")
    );
    outln!(
        "    CreateKey  {:>7.2} ms → {:>7.2} ms",
        f("create_key_ms_empty"),
        f("create_key_ms_full")
    );
    outln!(
        "    PutObject  {:>7.2} ms → {:>7.2} ms (1 KiB, SSE-S3)",
        f("put_object_ms_empty"),
        f("put_object_ms_full")
    );
    outln!(
        "    engine resident memory with that state: {:.1} MB",
        f("engine_rss_full_mb")
    );
    Ok(())
}

/// Options of `keylab bench engine`.
#[derive(Debug, clap::Args)]
pub struct EngineBenchArgs {
    /// Seconds of Encrypt load (after one second of warm-up)
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// Plaintext size of each Encrypt, in bytes (1 to 4096)
    #[arg(long, default_value_t = 256)]
    plaintext_bytes: usize,
    /// KMS keys to create before measuring the cost of one more write (0 skips the scale test)
    #[arg(long, default_value_t = 10_000)]
    keys: usize,
    /// S3 objects to store before measuring the cost of one more write
    #[arg(long, default_value_t = 100_000)]
    objects: usize,
    /// Seconds of STS AssumeRole load after the Encrypt load (0 skips it)
    #[arg(long, default_value_t = 3)]
    assume_role_seconds: u64,
    /// Seconds of Secrets Manager GetSecretValue load after that (0 skips it)
    #[arg(long, default_value_t = 3)]
    secret_seconds: u64,
    /// Print the figures as one JSON object
    #[arg(long)]
    json: bool,
}

/// One signed request a load sends again and again.
#[derive(Clone)]
enum WireRequest {
    /// A Query-protocol form to a service (STS).
    Query(&'static str, String),
    /// An AWS JSON 1.1 body to a service with its `X-Amz-Target`.
    Json(&'static str, String, String),
}

/// Sends `request` with `in_flight` at a time for `secs` seconds; returns the successes
/// (HTTP 200), the failures and the time taken.
async fn wire_load(
    settings: &keylab::backend::sdk::ClientSettings,
    request: WireRequest,
    in_flight: usize,
    secs: f64,
) -> Result<(u64, u64, f64)> {
    use keylab::backend::wire::{call_json, call_query};
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (ok, failed, settings) = (ok.clone(), failed.clone(), settings.clone());
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let r = match &request {
                    WireRequest::Query(service, form) => {
                        call_query(&settings, service, form.clone().into_bytes()).await
                    }
                    WireRequest::Json(service, target, body) => {
                        call_json(&settings, service, target, body.clone().into_bytes()).await
                    }
                };
                let counter = if matches!(r, Ok((200, _))) {
                    &ok
                } else {
                    &failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok((
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
    ))
}

/// STS AssumeRole (the partner administrator assuming the owner's PartnerReader role); each
/// allowed call saves its session durably.
fn assume_role_request() -> WireRequest {
    WireRequest::Query(
        "sts",
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FPartnerReader&RoleSessionName=bench".into(),
    )
}

/// Secrets Manager GetSecretValue of a secret the owner's administrator creates under a
/// customer managed key: each call is a KMS Decrypt as the caller, through Secrets Manager.
async fn secret_request(settings: &keylab::backend::sdk::ClientSettings) -> Result<WireRequest> {
    use keylab::backend::client::{kms_call, secretsmanager_call};
    let key = kms_call(
        settings,
        "CreateKey",
        json!({"Description": "bench secrets"}),
    )
    .await?;
    let key_arn = key["KeyMetadata"]["Arn"].as_str().unwrap_or_default();
    let created = secretsmanager_call(
        settings,
        "CreateSecret",
        json!({"Name": "bench/db", "KmsKeyId": key_arn, "SecretString": "{\"password\":\"bench\"}"}),
    )
    .await?;
    let arn = created["ARN"].as_str().unwrap_or_default();
    Ok(WireRequest::Json(
        "secretsmanager",
        "secretsmanager.GetSecretValue".into(),
        json!({"SecretId": arn}).to_string(),
    ))
}

/// Sends KMS Encrypt requests with `in_flight` requests at a time for `secs` seconds (after a
/// one-second warm-up); returns the successes, the failures and the time taken.
pub(super) async fn encrypt_load(
    settings: &keylab::backend::sdk::ClientSettings,
    in_flight: usize,
    plaintext_bytes: usize,
    secs: f64,
) -> Result<(u64, u64, f64)> {
    let client = kms_client(settings)?;
    let key = client.create_key().description("bench").send().await?;
    let key_arn = key
        .key_metadata()
        .map(|m| m.arn().unwrap_or_default().to_string())
        .unwrap_or_default();
    let plaintext = Blob::new(vec![0x5a; plaintext_bytes]);
    let run = |secs: f64| {
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        let mut tasks = Vec::new();
        for _ in 0..in_flight {
            let client = client.clone();
            let (ok, failed) = (ok.clone(), failed.clone());
            let (key_arn, plaintext) = (key_arn.clone(), plaintext.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    let r = client
                        .encrypt()
                        .key_id(&key_arn)
                        .plaintext(plaintext.clone())
                        .encryption_context("purpose", "bench")
                        .send()
                        .await;
                    let counter = if r.is_ok() { &ok } else { &failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        async move {
            for t in tasks {
                let _ = t.await;
            }
            (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
        }
    };
    run(1.0).await;
    let start = Instant::now();
    let (ok, failed) = run(secs).await;
    Ok((ok, failed, start.elapsed().as_secs_f64()))
}

/// Runs the engine benchmark.
pub fn engine(args: EngineBenchArgs) -> Result<ExitCode> {
    if !(1..=4096).contains(&args.plaintext_bytes) {
        bail!("--plaintext-bytes must be between 1 and 4096 (the KMS Encrypt limit)");
    }
    if args.in_flight == 0 {
        bail!("--in-flight must be at least 1");
    }
    let rt = super::super::runtime()?;
    let fresh = scratch("fresh")?;
    let (ready_fresh, ready_warm) = rt.block_on(async {
        let fresh_ms = in_process_ready(fresh.path()).await?;
        let warm_ms = in_process_ready(fresh.path()).await?;
        anyhow::Ok((fresh_ms, warm_ms))
    })?;

    let engine = SpawnedEngine::start()?;
    let spawn_start = engine.started;
    let pid = engine.pid;
    let settings = engine.settings("owner-admin", false)?;
    let result = rt.block_on(async {
        first_request(&settings).await?;
        let ready_process = spawn_start.elapsed().as_secs_f64() * 1000.0;
        let rss_idle = proc_status_kb(pid, "VmRSS:");
        let cpu_before = process_cpu_seconds(pid);
        let (ok, failed, elapsed) = encrypt_load(
            &settings,
            args.in_flight,
            args.plaintext_bytes,
            args.seconds as f64,
        )
        .await?;
        // The warm-up second's requests count too: they are in the CPU time.
        let cpu = process_cpu_seconds(pid).zip(cpu_before).map(|(a, b)| a - b);
        let rss_after_load = proc_status_kb(pid, "VmRSS:");
        let hwm_after_load = proc_status_kb(pid, "VmHWM:");
        let assume = if args.assume_role_seconds > 0 {
            let partner = engine.settings("partner-admin", false)?;
            let request = assume_role_request();
            let secs = args.assume_role_seconds as f64;
            Some(wire_load(&partner, request, args.in_flight, secs).await?)
        } else {
            None
        };
        let secrets = if args.secret_seconds > 0 {
            let request = secret_request(&settings).await?;
            let secs = args.secret_seconds as f64;
            Some(wire_load(&settings, request, args.in_flight, secs).await?)
        } else {
            None
        };
        let scale = if args.keys + args.objects > 0 {
            Some(write_cost_at_scale(&settings, args.keys, args.objects, pid).await?)
        } else {
            None
        };
        anyhow::Ok((
            ready_process,
            rss_idle,
            ok,
            failed,
            elapsed,
            cpu,
            scale,
            rss_after_load,
            hwm_after_load,
            assume,
            secrets,
        ))
    });
    drop(engine);
    let (ready_process, rss_idle, ok, failed, elapsed, cpu, scale, rss, hwm, assume, secrets) =
        result?;
    let secret_rate = secrets.map(|(n, _, secs)| n as f64 / secs);
    let secret_failed = secrets.map_or(0, |(_, f, _)| f);
    let assume_rate = assume.map(|(n, _, secs)| n as f64 / secs);
    let assume_failed = assume.map_or(0, |(_, f, _)| f);
    let rate = ok as f64 / elapsed;
    let warm_up = rate; // one second at about the same rate
    let cpu_us = cpu.map(|c| c * 1e6 / (ok as f64 + warm_up));
    let mb = |kb: Option<u64>| kb.map(|k| k as f64 / 1024.0);
    let figures = json!({
        "ready_in_process_fresh_ms": ready_fresh,
        "ready_in_process_restart_ms": ready_warm,
        "ready_separate_process_ms": ready_process,
        "encrypt_requests_per_second": rate,
        "encrypt_requests": ok,
        "encrypt_failures": failed,
        "in_flight": args.in_flight,
        "plaintext_bytes": args.plaintext_bytes,
        "seconds": elapsed,
        "engine_rss_idle_mb": mb(rss_idle),
        "engine_rss_after_load_mb": mb(rss),
        "engine_rss_peak_mb": mb(hwm),
        "engine_cpu_us_per_encrypt": cpu_us,
        "scale": scale,
        "assume_role_requests_per_second": assume_rate,
        "assume_role_failures": assume_failed,
        "get_secret_value_requests_per_second": secret_rate,
        "get_secret_value_failures": secret_failed,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    if args.json {
        outln!("{figures}");
    } else {
        print_figures(&figures)?;
    }
    if secret_failed > 0 {
        bail!("{secret_failed} GetSecretValue requests failed during the benchmark");
    }
    if assume_failed > 0 {
        bail!("{assume_failed} AssumeRole requests failed during the benchmark");
    }
    if failed > 0 {
        bail!("{failed} Encrypt requests failed during the benchmark");
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine benchmark's figures as text, one line each.
fn print_figures(f: &Value) -> Result<()> {
    let num = |name: &str| f[name].as_f64().unwrap_or(f64::NAN);
    outln!(
        "keylab engine benchmark ({} cores, client and engine on the same machine)",
        f["cores"]
    );
    outln!(
        "  ready, in process, fresh state     {:>8.1} ms",
        num("ready_in_process_fresh_ms")
    );
    outln!(
        "  ready, in process, existing state  {:>8.1} ms",
        num("ready_in_process_restart_ms")
    );
    outln!(
        "  ready, separate process            {:>8.1} ms",
        num("ready_separate_process_ms")
    );
    outln!(
        "  KMS Encrypt, aws-sdk-kms, {} in flight, {} B: {:>8.0} req/s ({} ok, {} failed in {:.1} s)",
        f["in_flight"],
        f["plaintext_bytes"],
        num("encrypt_requests_per_second"),
        f["encrypt_requests"],
        f["encrypt_failures"],
        num("seconds")
    );
    outln!(
        "  engine resident memory: idle {:.1} MB, after load {:.1} MB, peak {:.1} MB",
        num("engine_rss_idle_mb"),
        num("engine_rss_after_load_mb"),
        num("engine_rss_peak_mb")
    );
    outln!(
        "  engine CPU per Encrypt: {:.1} µs (process CPU time / requests served)",
        num("engine_cpu_us_per_encrypt")
    );
    if f["assume_role_requests_per_second"].is_number() {
        outln!(
            "  STS AssumeRole, signed Query requests, {} in flight: {:>8.0} req/s ({} failed)",
            f["in_flight"],
            num("assume_role_requests_per_second"),
            f["assume_role_failures"]
        );
    }
    if f["get_secret_value_requests_per_second"].is_number() {
        outln!(
            "  Secrets Manager GetSecretValue (KMS Decrypt as the caller), {} in flight: {:>8.0} req/s ({} failed)",
            f["in_flight"],
            num("get_secret_value_requests_per_second"),
            f["get_secret_value_failures"]
        );
    }
    if f["scale"].is_object() {
        print_scale(&f["scale"])?;
    }
    Ok(())
}
