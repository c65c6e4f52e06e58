//! Throughput of the masking library on a generated table, without building the whole app:
//! the same entry points `keylab mask` calls (`stream::run` for CSV, `columnar::run` for
//! Parquet, with the same 1 MiB buffered file input and output and an atomic write), timed in a
//! child process each (so peak RSS is the run's own), beside the plain Python baseline
//! `benches/mask_baseline.py` on the same file in the same run. The rules are `keylab bench
//! mask`'s `one-hmac` set (email → hmac_token); the Python output must match keylab's byte
//! for byte.
//!
//! ```text
//! CARGO_INCREMENTAL=0 cargo build --release -p keylab-mask --example throughput
//! target/release/examples/throughput [ROWS [RUNS [PYTHON]]]   # 1000000 2 python3
//! ```
//!
//! Figures are the best of RUNS runs, in rows per second, with the child's peak RSS. The
//! example allocates with the system allocator (the `keylab` binary uses mimalloc, which
//! is not a dependency of this crate). `throughput make DIR ROWS` only writes the inputs,
//! and `throughput child csv|parquet IN OUT THREADS` (with `KEYLAB_BENCH_MASK_KEY` set to
//! 64 hex digits, and `THROUGHPUT_RULES=FILE` for other rules than `one-hmac`) is one run,
//! for a profiler or to compare outputs.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use keylab_mask::{Format, MasterKey, Options, Plan, Rules};

const RULES: &str = "format_version = 1\n[key]\nsource = \"env:KEYLAB_BENCH_MASK_KEY\"\n\n[[rule]]\ncolumn = \"email\"\nop = \"hmac_token\"\ndomain = \"email\"\nnormalize = \"email\"\n";

const BASELINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../benches/mask_baseline.py"
);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        child(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("make") {
        // Keeps the inputs, for a profiler: `make DIR ROWS`, then `child csv IN OUT THREADS`.
        make(Path::new(&args[1]), args[2].parse().expect("ROWS"));
        return;
    }
    let rows: u32 = args.first().map_or(1_000_000, |a| a.parse().expect("ROWS"));
    let runs: usize = args.get(1).map_or(2, |a| a.parse().expect("RUNS"));
    let python = args.get(2).cloned().unwrap_or_else(|| "python3".into());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let started = Instant::now();
    let (csv_path, pq_path, mb, pq_mb) = make(dir.path(), rows);
    println!(
        "{rows} rows of customers: CSV {mb:.0} MB, Parquet {pq_mb:.0} MB (made in {:.1} s); best of {runs}",
        started.elapsed().as_secs_f64()
    );
    let key = hex::encode(rand::random::<[u8; 32]>());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let out_csv = dir.path().join("out.csv");
    let mut best_csv = f64::MAX;
    for threads in [1, cores] {
        let (secs, rss) = best(runs, || {
            let mut c = Command::new(std::env::current_exe().expect("this program"));
            c.args(["child", "csv"])
                .arg(&csv_path)
                .arg(&out_csv)
                .arg(threads.to_string())
                .env("KEYLAB_BENCH_MASK_KEY", &key);
            c
        });
        best_csv = best_csv.min(secs);
        println!(
            "  csv one-hmac      {threads} threads {:>10.0} rows/s {:>7.1} MB/s  peak RSS {rss:.1} MB",
            f64::from(rows) / secs,
            mb / secs
        );
    }
    let out_py = dir.path().join("py.csv");
    let (py_secs, py_rss) = best(1, || {
        let mut c = Command::new(&python);
        c.arg(BASELINE)
            .arg("one-hmac")
            .arg(&csv_path)
            .arg(&out_py)
            .arg(&key);
        c
    });
    println!(
        "  python one-hmac   1 thread  {:>10.0} rows/s {:>7.1} MB/s  peak RSS {py_rss:.1} MB: keylab is {:.1}× faster",
        f64::from(rows) / py_secs,
        mb / py_secs,
        py_secs / best_csv
    );
    assert!(
        std::fs::read(&out_csv).unwrap() == std::fs::read(&out_py).unwrap(),
        "keylab and the Python baseline disagree"
    );
    for threads in [1, cores] {
        let (secs, rss) = best(runs, || {
            let mut c = Command::new(std::env::current_exe().expect("this program"));
            c.args(["child", "parquet"])
                .arg(&pq_path)
                .arg(dir.path().join("out.parquet"))
                .arg(threads.to_string())
                .env("KEYLAB_BENCH_MASK_KEY", &key);
            c
        });
        println!(
            "  parquet one-hmac  {threads} threads {:>10.0} rows/s {:>7.1} MB/s  peak RSS {rss:.1} MB",
            f64::from(rows) / secs,
            pq_mb / secs
        );
    }
}

/// Writes the generated customers as CSV and as Parquet (dictionary-encoded, snappy, 131,072
/// rows per row group, as `keylab bench mask` makes it) into `dir`: their paths and sizes in MB.
fn make(dir: &Path, rows: u32) -> (PathBuf, PathBuf, f64, f64) {
    let csv_path = dir.join("customers.csv");
    let csv = keylab_mask::generate::table("customers", rows, 42).expect("the table");
    std::fs::write(&csv_path, &csv).expect("write the table");
    let mb = csv.len() as f64 / 1e6;
    drop(csv);
    let pq_path = dir.join("customers.parquet");
    let mut pq = Vec::new();
    keylab_mask::columnar::from_csv(
        BufReader::new(std::fs::File::open(&csv_path).expect("the table")),
        &mut pq,
        131_072,
    )
    .expect("the Parquet table");
    std::fs::write(&pq_path, &pq).expect("write the Parquet table");
    (csv_path, pq_path, mb, pq.len() as f64 / 1e6)
}

/// The fastest of `runs` runs of a command: seconds, and peak RSS in MB (the child's
/// `VmHWM`, read from its own status when it is this program, else from `getrusage`-like
/// sampling of /proc).
fn best(runs: usize, make: impl Fn() -> Command) -> (f64, f64) {
    let mut best = (f64::MAX, 0.0);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let mut child = make()
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the child");
        let mut peak_kb = 0u64;
        let status = loop {
            if let Some(kb) = vm_hwm(child.id()) {
                peak_kb = peak_kb.max(kb);
            }
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let secs = started.elapsed().as_secs_f64();
        assert!(status.success(), "the child failed");
        let mut said = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut said).unwrap();
        if let Ok(kb) = said.trim().parse::<u64>() {
            peak_kb = kb;
        }
        if secs < best.0 {
            best = (secs, peak_kb as f64 / 1024.0);
        }
    }
    best
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// One masking run as `keylab mask RULES INPUT -o OUTPUT --threads N` does it; prints its
/// peak RSS in kB.
fn child(args: &[String]) {
    let (kind, input, output, threads) = (
        args[0].as_str(),
        PathBuf::from(&args[1]),
        PathBuf::from(&args[2]),
        args[3].parse::<usize>().expect("threads"),
    );
    // Other rules from a file, to compare outputs: `THROUGHPUT_RULES=FILE`.
    let text = std::env::var("THROUGHPUT_RULES")
        .map(|f| std::fs::read_to_string(f).expect("the rules file"))
        .unwrap_or_else(|_| RULES.to_string());
    let rules = Rules::parse("rules.toml", &text).expect("rules");
    let key = std::env::var("KEYLAB_BENCH_MASK_KEY").expect("the key");
    let key = MasterKey::from_bytes(hex::decode(key).expect("hex"), "env").expect("key");
    let plan = Plan::new(&rules, Some(&key), Path::new(".")).expect("plan");
    let options = Options {
        threads,
        ..Options::default()
    };
    let tmp = tempfile::NamedTempFile::new_in(output.parent().unwrap()).expect("tmp");
    let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file());
    let file = std::fs::File::open(&input).expect("input");
    if kind == "parquet" {
        keylab_mask::columnar::run(&rules, &plan, file, &mut writer, &options).expect("mask");
    } else {
        let input = BufReader::with_capacity(1 << 20, file);
        keylab_mask::stream::run(&rules, &plan, input, &mut writer, Format::Csv, &options)
            .expect("mask");
    }
    writer.flush().expect("flush");
    drop(writer);
    tmp.as_file().sync_all().expect("sync");
    tmp.persist(&output).expect("persist");
    println!("{}", vm_hwm(std::process::id()).unwrap_or(0));
}
