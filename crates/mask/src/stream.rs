//! Applies a [`Plan`] to CSV or JSON Lines. CSV input is read in blocks cut at record
//! boundaries (read by the CSV grammar, see [`crate::blocks`]), each worker thread (`rayon`) parses, masks and
//! writes its own block with the `csv` crate, and the blocks are written in input order — so
//! parsing runs on every core and memory stays flat whatever the file size. JSON Lines go in
//! batches of lines the same way. Two rules need the whole table and switch to holding it in memory:
//! `shuffle` (values move between rows) and `[anonymity] suppress` (class sizes are known only
//! at the end). JSON Lines fields are addressed by JSON Pointer; objects' keys come out sorted.
//! Which rules apply is checked first and fails closed ([`crate::columns`]).

use std::io::{BufRead, BufReader, Read, Write};

use rayon::prelude::*;
use serde_json::Value;

use super::MaskError;
use super::blocks::WaveReader;
use super::columns;
use super::csv_block::{Counts, Masker, Scratch, mask_block, push_field};
use super::ops::{Op, Plan};
use super::rules::{Rule, Rules};
pub use super::table::Table;
use super::table::{shuffle, suppress};

/// The input and output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format a file name implies (`.csv`, `.jsonl`, `.ndjson`).
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::Jsonl)
        } else {
            None
        }
    }
}

/// The default longest CSV record: 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (1 = the calling thread only).
    pub threads: usize,
    /// Undo the reversible rules instead of applying the rules.
    pub reverse: bool,
    /// Seed for `shuffle` (random when absent).
    pub seed: Option<u64>,
    /// Rows per batch (JSON Lines).
    pub batch_rows: usize,
    /// Bytes per worker and batch (CSV).
    pub chunk_bytes: usize,
    /// The longest CSV record accepted, in bytes (a longer one is an error naming its line).
    pub max_record_bytes: usize,
    /// Parquet: the largest sum of a row group's ruled column chunks (uncompressed) that is
    /// masked into memory, one row group per worker at a time; a larger row group is masked
    /// straight into the output, so memory stays bounded whatever the row groups' size.
    pub held_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            reverse: false,
            seed: None,
            batch_rows: 8192,
            chunk_bytes: 1 << 20,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            held_bytes: 32 << 20,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Data rows.
    pub rows: u64,
    /// Rows whose quasi-identifiers were suppressed.
    pub suppressed: u64,
    /// The smallest class over the quasi-identifiers, when `[anonymity]` is set.
    pub k: Option<u64>,
    /// Rule columns the input does not have (one rules file can serve several tables; a
    /// file with none of them is an error).
    pub skipped: Vec<String>,
    /// Parquet columns of another type that the rules made UTF-8 string columns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retyped: Vec<String>,
}

struct Ctx<'a> {
    plan: &'a Plan,
    pool: &'a rayon::ThreadPool,
    reverse: bool,
}

fn value_error(plan: &Plan, line: u64, column: &str, message: String) -> MaskError {
    let name = plan
        .ops
        .iter()
        .find(|(c, ..)| c == column)
        .map(|(_, _, l)| format!(" (rule on line {l} of {})", plan.file))
        .unwrap_or_default();
    MaskError::Value {
        line,
        column: column.to_string(),
        message: format!("{message}{name}"),
    }
}

impl Ctx<'_> {
    fn mask(
        &self,
        op: &Op,
        column: &str,
        line: u64,
        value: &str,
    ) -> Result<Option<String>, MaskError> {
        if self.reverse {
            return op
                .reverse(value)
                .map(Some)
                .map_err(|m| value_error(self.plan, line, column, m));
        }
        op.apply(value)
            .map_err(|m| value_error(self.plan, line, column, m))
    }
}

impl Masker for Ctx<'_> {
    fn mask_into(
        &self,
        op: &Op,
        column: &str,
        line: u64,
        value: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), MaskError> {
        if self.reverse {
            let v = op
                .reverse(value)
                .map_err(|m| value_error(self.plan, line, column, m))?;
            push_field(out, v.as_bytes());
            return Ok(());
        }
        op.write_csv(value, out)
            .map_err(|m| value_error(self.plan, line, column, m))
    }

    fn reverse(&self) -> bool {
        self.reverse
    }

    fn mask_bytes_into(
        &self,
        op: &Op,
        column: &str,
        line: u64,
        value: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), MaskError> {
        if !self.reverse && matches!(op, Op::Hmac { .. }) && value.is_ascii() {
            // ASCII is UTF-8: the token is made from the bytes without a `str` check.
            return op
                .write_csv_bytes(value, out)
                .map_err(|m| value_error(self.plan, line, column, m));
        }
        let text = std::str::from_utf8(value).map_err(|_| MaskError::Value {
            line,
            column: column.to_string(),
            message: "the value is not UTF-8".into(),
        })?;
        self.mask_into(op, column, line, text, out)
    }
}

/// Masks `input` into `output`.
pub fn run<R: Read + Send, W: Write>(
    rules: &Rules,
    plan: &Plan,
    input: R,
    output: W,
    format: Format,
    options: &Options,
) -> Result<Summary, MaskError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .build()
        .map_err(|e| MaskError::Io(format!("cannot start worker threads: {e}")))?;
    let needs_table = !options.reverse
        && (rules
            .rules
            .iter()
            .any(|(r, _)| matches!(r, Rule::Shuffle { .. }))
            || rules.anonymity.is_some());
    let ctx = Ctx {
        plan,
        pool: &pool,
        reverse: options.reverse,
    };
    if !needs_table {
        return match format {
            Format::Csv => csv_stream(&ctx, input, output, options),
            Format::Jsonl => jsonl_stream(&ctx, input, output, options),
        };
    }
    // Whole-table mode: read everything, mask, shuffle, then suppress.
    let mut raw = Vec::new();
    BufReader::new(input)
        .read_to_end(&mut raw)
        .map_err(|e| MaskError::Io(format!("cannot read the input: {e}")))?;
    let original = Table::parse(&raw, format)?;
    let mut masked = Vec::new();
    let mut summary = match format {
        Format::Csv => csv_stream(&ctx, &raw[..], &mut masked, options),
        Format::Jsonl => jsonl_stream(&ctx, &raw[..], &mut masked, options),
    }?;
    let mut out = Table::parse(&masked, format)?;
    shuffle(rules, &original, &mut out, options.seed)?;
    // A rules file can serve several tables: one without any quasi-identifier is not measured.
    if let Some(a) = rules
        .anonymity
        .as_ref()
        .filter(|a| a.quasi_identifiers.iter().any(|q| out.index(q).is_some()))
    {
        let (k, suppressed) = suppress(&mut out, a, &rules.file)?;
        summary.k = Some(k);
        summary.suppressed = suppressed;
    }
    out.write(output, format)?;
    Ok(summary)
}

fn io(e: impl std::fmt::Display) -> MaskError {
    MaskError::Io(e.to_string())
}

/// The CSV header: its names, and the end of its record in `buf`.
fn csv_header<R: Read>(
    reader: &mut WaveReader<R>,
    buf: &mut Vec<u8>,
) -> Result<(Vec<String>, usize), MaskError> {
    let end = reader.first_record(buf)?;
    let header = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&buf[..end])
        .records()
        .next()
        .ok_or_else(|| MaskError::Io("the CSV input is empty: it needs a header row".into()))?
        .map_err(|e| MaskError::Io(format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((header, end))
}

fn csv_stream<R: Read + Send, W: Write>(
    ctx: &Ctx<'_>,
    input: R,
    output: W,
    options: &Options,
) -> Result<Summary, MaskError> {
    let threads = ctx.pool.current_num_threads();
    let mut reader = WaveReader::new(
        input,
        options.chunk_bytes.max(1) * threads,
        threads,
        options.max_record_bytes,
    );
    let mut pending = Vec::new();
    let (header, header_end) = csv_header(&mut reader, &mut pending)?;
    let ops: Vec<Option<(&str, &Op)>> = header
        .iter()
        .map(|h| ctx.plan.op(h).map(|op| (h.as_str(), op)))
        .collect();
    let skipped = columns::check_csv(ctx.plan, &header, ctx.reverse)?;
    let mut writer = csv::Writer::from_writer(output);
    let kept: Vec<&String> = header
        .iter()
        .zip(&ops)
        .filter(|(_, op)| ctx.reverse || !matches!(op, Some((_, Op::Redact))))
        .map(|(h, _)| h)
        .collect();
    writer.write_record(kept).map_err(io)?;
    let mut out = writer.into_inner().map_err(io)?;
    let mut summary = Summary {
        skipped,
        ..Summary::default()
    };
    let line = 1 + memchr::memchr_iter(b'\n', &pending[..header_end]).count() as u64;
    pending.drain(..header_end);
    let (waves_tx, waves) = std::sync::mpsc::sync_channel(1);
    let (spent, spent_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        // The reading thread: waves of whole records. Lines are counted by the workers; an
        // error here names its line from the start of the wave's carry (line 1), which the
        // writer places once the waves before it are written.
        s.spawn(move || {
            let mut carry = pending;
            loop {
                let wave = match reader.next_wave(carry, 1) {
                    Ok(Some(w)) => w,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = waves_tx.send(Err(e));
                        return;
                    }
                };
                let last = *wave.ends.last().unwrap_or(&0);
                let mut next = spent_rx.try_recv().unwrap_or_default();
                next.clear();
                next.extend_from_slice(&wave.buf[last..]);
                carry = next;
                if waves_tx.send(Ok(wave)).is_err() {
                    return;
                }
            }
        });
        let mut writer = BlockWriter {
            out: &mut out,
            summary: &mut summary,
            line,
        };
        let mut ready = Blocks::default();
        let mut next = Blocks::default();
        for received in waves {
            let wave = match received {
                Ok(w) => w,
                Err(e) => {
                    writer.write(&mut ready)?;
                    return Err(writer.place(e));
                }
            };
            let chunks: Vec<&[u8]> = wave.chunks().collect();
            next.prepare(chunks.len());
            let work = |(b, (out, scratch)): (&&[u8], &mut (Vec<u8>, Scratch))| {
                mask_block(ctx, &ops, b, out, scratch)
            };
            let mut written = Ok(());
            // The workers mask this wave while this thread writes the one before.
            ctx.pool.in_place_scope(|scope| {
                let buffers = &mut next.buffers;
                let results = &mut next.results;
                scope.spawn(|_| {
                    *results = chunks
                        .par_iter()
                        .zip(buffers.par_iter_mut())
                        .map(work)
                        .collect();
                });
                written = writer.write(&mut ready);
            });
            written?;
            drop(chunks);
            let _ = spent.send(wave.buf);
            std::mem::swap(&mut ready, &mut next);
        }
        writer.write(&mut ready)
    })?;
    out.flush().map_err(io)?;
    Ok(summary)
}

/// A wave's masked blocks: output and scratch buffers (reused from wave to wave) and the
/// results.
#[derive(Default)]
struct Blocks {
    buffers: Vec<(Vec<u8>, Scratch)>,
    results: Vec<Result<Counts, MaskError>>,
}

impl Blocks {
    fn prepare(&mut self, blocks: usize) {
        if self.buffers.len() < blocks {
            self.buffers.resize_with(blocks, Default::default);
        }
        self.results.clear();
    }
}

/// Writes masked blocks in input order, counts them, and knows the line the next block
/// starts on.
struct BlockWriter<'a, W> {
    out: &'a mut W,
    summary: &'a mut Summary,
    /// The input line the next block starts on.
    line: u64,
}

impl<W: Write> BlockWriter<'_, W> {
    /// An error whose line counts from the next block's first line, placed in the file.
    fn place(&self, e: MaskError) -> MaskError {
        let line = self.line;
        match e {
            MaskError::Value {
                line: l,
                column,
                message,
            } => MaskError::Value {
                line: line + l - 1,
                column,
                message,
            },
            MaskError::Io(m) => MaskError::Io(format!("CSV input after line {line}: {m}")),
            other => other,
        }
    }

    /// Writes the blocks up to the first that failed (in one vectored write, so a buffered
    /// output passes a wave larger than its buffer straight through instead of copying it),
    /// then returns that block's error.
    fn write(&mut self, blocks: &mut Blocks) -> Result<(), MaskError> {
        let mut slices = Vec::with_capacity(blocks.results.len());
        let mut failed = None;
        for (r, (bytes, _)) in blocks.results.drain(..).zip(&blocks.buffers) {
            // Workers count lines from 1; the block's place in the file is known here.
            match r {
                Ok(counts) => {
                    slices.push(std::io::IoSlice::new(bytes));
                    self.summary.rows += counts.rows;
                    self.line += counts.lines;
                }
                Err(e) => {
                    failed = Some(self.place(e));
                    break;
                }
            }
        }
        write_all_vectored(self.out, &mut slices).map_err(io)?;
        failed.map_or(Ok(()), Err)
    }
}

/// `write_all` for several buffers (`Write::write_all_vectored` is not stable yet).
fn write_all_vectored<W: Write>(
    out: &mut W,
    mut slices: &mut [std::io::IoSlice<'_>],
) -> std::io::Result<()> {
    std::io::IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => std::io::IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn jsonl_stream<R: Read, W: Write>(
    ctx: &Ctx<'_>,
    input: R,
    mut output: W,
    options: &Options,
) -> Result<Summary, MaskError> {
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut summary = Summary::default();
    let mut line_no = 0u64;
    loop {
        let mut batch: Vec<(u64, Vec<u8>)> = Vec::with_capacity(options.batch_rows);
        while batch.len() < options.batch_rows {
            let mut line = Vec::new();
            let limit = options.max_record_bytes as u64 + 1;
            let n = (&mut reader)
                .take(limit)
                .read_until(b'\n', &mut line)
                .map_err(io)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if n as u64 == limit && line.last() != Some(&b'\n') {
                return Err(MaskError::Value {
                    line: line_no,
                    column: String::new(),
                    message: format!(
                        "the line is longer than {} bytes (raise --max-record-bytes if it really is that long)",
                        options.max_record_bytes
                    ),
                });
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            batch.push((line_no, line));
        }
        if batch.is_empty() {
            break;
        }
        let masked: Vec<Result<Vec<u8>, MaskError>> = ctx.pool.install(|| {
            batch
                .par_iter()
                .map(|(line, text)| jsonl_line(ctx, *line, text))
                .collect()
        });
        for m in masked {
            output.write_all(&m?).map_err(io)?;
        }
        summary.rows += batch.len() as u64;
    }
    output.flush().map_err(io)?;
    Ok(summary)
}

fn jsonl_line(ctx: &Ctx<'_>, line: u64, text: &[u8]) -> Result<Vec<u8>, MaskError> {
    let mut doc: Value = serde_json::from_slice(text).map_err(|e| MaskError::Value {
        line,
        column: String::new(),
        message: format!("not a JSON object: {e}"),
    })?;
    if !doc.is_object() {
        return Err(MaskError::Value {
            line,
            column: String::new(),
            message: "not a JSON object".into(),
        });
    }
    for (column, op, rule_line) in &ctx.plan.ops {
        if ctx.reverse && !matches!(op, Op::Siv { .. } | Op::Fpe(_)) {
            continue;
        }
        let pointer = columns::pointer(column);
        let Some(value) = doc.pointer_mut(&pointer) else {
            jsonl_missing(ctx, &doc, line, column, &pointer, *rule_line)?;
            continue;
        };
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            Value::Array(_) | Value::Object(_) if matches!(op, Op::Redact | Op::Null) => {
                String::new()
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(MaskError::Value {
                    line,
                    column: column.clone(),
                    message: "the value is an object or array: point the rule at the fields inside it (JSON Pointer, such as /customer/email)".into(),
                });
            }
        };
        match ctx.mask(op, column, line, &text)? {
            Some(s) => *value = Value::String(s),
            None if matches!(op, Op::Redact) => {
                let (parent, key) = columns::split_pointer(&pointer);
                match doc.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&key);
                    }
                    Some(other) => {
                        if let Some(v) = other.pointer_mut(&format!("/{key}")) {
                            *v = Value::Null;
                        }
                    }
                    None => {}
                }
            }
            None => *value = Value::Null,
        }
    }
    let mut out = serde_json::to_vec(&doc).map_err(io)?;
    out.push(b'\n');
    Ok(out)
}

/// A rule's field that a JSON Lines object lacks: an error unless the rule is optional, and
/// always when the object has a near miss of its name.
fn jsonl_missing(
    ctx: &Ctx<'_>,
    doc: &Value,
    line: u64,
    column: &str,
    pointer: &str,
    rule_line: usize,
) -> Result<(), MaskError> {
    let (parent, key) = columns::split_pointer(pointer);
    if let Some(Value::Object(m)) = doc.pointer(parent)
        && let Some(found) = columns::near_key(m, &key)
    {
        let e = columns::near_miss(ctx.plan, rule_line, column, found, "object");
        return Err(MaskError::Value {
            line,
            column: column.to_string(),
            message: e.to_string(),
        });
    }
    if ctx.plan.optional.contains(column) {
        return Ok(());
    }
    Err(MaskError::Value {
        line,
        column: column.to_string(),
        message: format!(
            "the object has no field {pointer}, so the rule on line {rule_line} of {} cannot apply (add optional = true to the rule when some objects legitimately lack it)",
            ctx.plan.file
        ),
    })
}
