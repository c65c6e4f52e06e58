//! `keylab bench s3`: PutObject and GetObject throughput under SSE-S3, SSE-KMS and SSE-C, and
//! the engine process's resident memory while it moves objects of up to 1 GiB. Bodies are
//! streamed from a file and counted as they come back, so the client holds no whole object and
//! the memory figure is the engine's own.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{SpawnedEngine, proc_status_kb, scratch};
use keylab::backend::sdk::kms_client;

/// Options of `keylab bench s3`.
#[derive(Debug, clap::Args)]
pub struct S3BenchArgs {
    /// Object sizes in MiB
    #[arg(long, value_delimiter = ',', default_values_t = [1u64, 64])]
    sizes: Vec<u64>,
    /// Bytes to move per size and mode, in MiB (the count of objects follows)
    #[arg(long, default_value_t = 256)]
    volume: u64,
    /// Print the figures as one JSON object
    #[arg(long)]
    json: bool,
}

/// Runs the S3 benchmark: PutObject and GetObject throughput under SSE-S3, SSE-KMS and SSE-C
/// through `aws-sdk-s3` over HTTPS (SSE-C needs it; the other modes use it too, so the figures
/// compare), one request at a time, against a separate engine process.
pub fn s3(args: S3BenchArgs) -> Result<ExitCode> {
    use aws_sdk_s3::types::{
        BlockedEncryptionTypes, EncryptionType, ServerSideEncryption,
        ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    use base64::Engine as _;
    if args.sizes.is_empty() || args.sizes.iter().any(|&s| s == 0 || s > 1024) {
        bail!("--sizes takes sizes in MiB between 1 and 1024, such as --sizes 1,64");
    }
    let rt = super::super::runtime()?;
    let largest = args.sizes.iter().max().copied().unwrap_or(1);
    let source_dir = scratch("s3-body")?;
    let source = source_dir.path().join("body");
    write_body_file(&source, largest * 1024 * 1024)?;
    let engine = SpawnedEngine::start()?;
    let settings = engine.settings("owner-admin", true)?;
    let pid = engine.pid;
    let idle_mb = proc_status_kb(pid, "VmRSS:").map(|k| k as f64 / 1024.0);
    let rows = rt.block_on(async {
        let s3 = keylab::backend::sdk::s3_client(&settings)?;
        let kms = kms_client(&settings)?;
        let key = kms.create_key().send().await?.key_metadata().and_then(|m| m.arn().map(String::from)).unwrap_or_default();
        s3.create_bucket().bucket("bench-bucket").send().await?;
        let unblock = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build()?,
                    )
                    .blocked_encryption_types(BlockedEncryptionTypes::builder().encryption_type(EncryptionType::None).build())
                    .build(),
            )
            .build()?;
        s3.put_bucket_encryption().bucket("bench-bucket").server_side_encryption_configuration(unblock).send().await?;
        let customer_key = base64::engine::general_purpose::STANDARD.encode([0x11u8; 32]);
        let mut rows = Vec::new();
        for &mib in &args.sizes {
            let size = (mib * 1024 * 1024) as usize;
            let count = (args.volume / mib).max(2) as usize;
            for mode in ["SSE-S3", "SSE-KMS", "SSE-C"] {
                let put_start = Instant::now();
                for i in 0..count {
                    let body = aws_sdk_s3::primitives::ByteStream::read_from()
                        .path(&source)
                        .length(aws_sdk_s3::primitives::Length::Exact(size as u64))
                        .build()
                        .await?;
                    let req = s3.put_object().bucket("bench-bucket").key(format!("{mode}/{mib}/{i}")).body(body);
                    let req = match mode {
                        "SSE-KMS" => req.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(&key),
                        "SSE-C" => req.sse_customer_algorithm("AES256").sse_customer_key(&customer_key),
                        _ => req,
                    };
                    req.send().await?;
                }
                let put_secs = put_start.elapsed().as_secs_f64();
                let get_start = Instant::now();
                for i in 0..count {
                    let req = s3.get_object().bucket("bench-bucket").key(format!("{mode}/{mib}/{i}"));
                    let req = if mode == "SSE-C" { req.sse_customer_algorithm("AES256").sse_customer_key(&customer_key) } else { req };
                    let mut body = req.send().await?.body;
                    let mut got = 0usize;
                    while let Some(chunk) = body.next().await {
                        got += chunk?.len();
                    }
                    if got != size {
                        bail!("GetObject returned {got} bytes, expected {size}");
                    }
                }
                let get_secs = get_start.elapsed().as_secs_f64();
                let moved = (count * size) as f64 / (1024.0 * 1024.0);
                rows.push(json!({
                    "mode": mode, "object_mib": mib, "objects": count,
                    "put_mib_per_s": moved / put_secs, "get_mib_per_s": moved / get_secs,
                    "put_ms_per_object": put_secs * 1000.0 / count as f64, "get_ms_per_object": get_secs * 1000.0 / count as f64,
                    "engine_rss_peak_mb": proc_status_kb(pid, "VmHWM:").map(|k| k as f64 / 1024.0),
                }));
            }
        }
        anyhow::Ok(rows)
    })?;
    let peak = proc_status_kb(pid, "VmHWM:").map(|k| k as f64 / 1024.0);
    drop(engine);
    let idle = idle_mb;
    if args.json {
        outln!(
            "{}",
            json!({ "rows": rows, "engine_rss_idle_mb": idle, "engine_rss_peak_mb": peak })
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "keylab S3 benchmark (aws-sdk-s3 over HTTPS, one request at a time, separate engine process)"
    );
    outln!(
        "  {:<8} {:>8} {:>8} {:>14} {:>14} {:>16}",
        "mode",
        "size",
        "objects",
        "PutObject",
        "GetObject",
        "engine peak RSS"
    );
    for r in &rows {
        outln!(
            "  {:<8} {:>5} MiB {:>8} {:>9.0} MiB/s {:>9.0} MiB/s {:>13.1} MB",
            r["mode"].as_str().unwrap_or_default(),
            r["object_mib"].as_u64().unwrap_or_default(),
            r["objects"].as_u64().unwrap_or_default(),
            r["put_mib_per_s"].as_f64().unwrap_or_default(),
            r["get_mib_per_s"].as_f64().unwrap_or_default(),
            r["engine_rss_peak_mb"].as_f64().unwrap_or_default()
        );
    }
    outln!(
        "  engine resident memory: idle {:.1} MB, peak {:.1} MB",
        idle.unwrap_or_default(),
        peak.unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` of a fixed pattern to `path`, one MiB at a time.
fn write_body_file(path: &std::path::Path, bytes: u64) -> Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let block = vec![0xa5u8; 1024 * 1024];
    for _ in 0..bytes / block.len() as u64 {
        file.write_all(&block)?;
    }
    file.flush()?;
    Ok(())
}
