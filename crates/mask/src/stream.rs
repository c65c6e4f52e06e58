//! Applies a [`Plan`] to CSV or JSON Lines. CSV input is read in blocks cut at record
//! boundaries (a quote-aware scan with `memchr`), each worker thread (`rayon`) parses, masks and
//! writes its own block with the `csv` crate, and the blocks are written in input order — so
//! parsing runs on every core and memory stays flat whatever the file size. JSON Lines go in
//! batches of lines the same way. Two rules need the whole table and switch to holding it in memory:
//! `shuffle` (values move between rows) and `[anonymity] suppress` (class sizes are known only
//! at the end). JSON Lines objects are masked at their top level; their keys come out sorted.
//! Rules for columns a CSV input lacks are skipped and reported, so one rules file can serve
//! tables that join; an input with none of the rules' columns is an error.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde_json::{Map, Value};

use super::MaskError;
use super::ops::{Op, Plan};
use super::rules::{AnonymitySpec, Rule, Rules};

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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            reverse: false,
            seed: None,
            batch_rows: 8192,
            chunk_bytes: 1 << 20,
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

fn csv_stream<R: Read + Send, W: Write>(
    ctx: &Ctx<'_>,
    input: R,
    output: W,
    options: &Options,
) -> Result<Summary, MaskError> {
    let mut input = input;
    let mut pending = Vec::new();
    let mut eof = false;
    let header_end = loop {
        if let Some(end) = first_boundary(&pending) {
            break end;
        }
        if eof {
            break pending.len();
        }
        eof = fill(&mut input, &mut pending, options.chunk_bytes.max(4096))?;
    };
    let header: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&pending[..header_end])
        .records()
        .next()
        .ok_or_else(|| MaskError::Io("the CSV input is empty: it needs a header row".into()))?
        .map_err(|e| MaskError::Io(format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let ops: Vec<Option<(&str, &Op)>> = header
        .iter()
        .map(|h| ctx.plan.op(h).map(|op| (h.as_str(), op)))
        .collect();
    let missing: Vec<String> = ctx
        .plan
        .ops
        .iter()
        .filter(|(c, ..)| !header.contains(c))
        .map(|(c, ..)| c.clone())
        .collect();
    if !ctx.reverse && !missing.is_empty() && missing.len() == ctx.plan.ops.len() {
        return Err(MaskError::Rules {
            file: ctx.plan.file.clone(),
            line: ctx.plan.ops.first().map(|(_, _, l)| *l),
            message: format!(
                "no column of the rules is in the input ({}); its columns are: {}",
                missing.join(", "),
                header.join(", ")
            ),
            fix: "correct the column names, or check that this is the file the rules are for"
                .into(),
        });
    }
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
        skipped: if ctx.reverse { Vec::new() } else { missing },
        ..Summary::default()
    };
    let threads = ctx.pool.current_num_threads();
    let want = options.chunk_bytes.max(1) * threads;
    let mut line = 1 + memchr::memchr_iter(b'\n', &pending[..header_end]).count() as u64;
    pending.drain(..header_end);
    let mut wave = next_wave(&mut input, pending, &mut eof, want, threads)?;
    while let Some(current) = wave {
        let chunks: Vec<&[u8]> = current.chunks().collect();
        let results: Vec<Result<Chunk, MaskError>> = if chunks.len() == 1 {
            vec![csv_chunk(ctx, &ops, chunks[0])]
        } else {
            ctx.pool
                .install(|| chunks.par_iter().map(|b| csv_chunk(ctx, &ops, b)).collect())
        };
        for r in results {
            // Workers count lines from 1; the chunk's place in the file is known here.
            let chunk = r.map_err(|e| match e {
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
            })?;
            out.write_all(&chunk.bytes).map_err(io)?;
            summary.rows += chunk.rows;
            line += chunk.lines;
        }
        wave = next_wave(&mut input, current.into_carry(), &mut eof, want, threads)?;
    }
    out.flush().map_err(io)?;
    Ok(summary)
}

/// Whole records read from the input, cut into one block per worker.
struct Wave {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Wave {
    fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.buf[a..b])
    }

    /// The bytes after the last whole record, at the front of the same buffer (the start of
    /// the next wave, without a new allocation).
    fn into_carry(mut self) -> Vec<u8> {
        self.buf.drain(..*self.ends.last().unwrap_or(&0));
        self.buf
    }
}

/// Reads until about `want` bytes of whole records (or the end) follow `carry`, and cuts them
/// into `parts` blocks; `None` when the input is done.
fn next_wave<R: Read>(
    input: &mut R,
    mut buf: Vec<u8>,
    eof: &mut bool,
    want: usize,
    parts: usize,
) -> Result<Option<Wave>, MaskError> {
    loop {
        while !*eof && buf.len() < want {
            *eof = fill(input, &mut buf, want)?;
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let mut ends = split_points(&buf, parts);
        if *eof && ends.last() != Some(&buf.len()) {
            ends.push(buf.len());
        }
        if !ends.is_empty() {
            return Ok(Some(Wave { buf, ends }));
        }
        // One record longer than the buffer: read more before cutting.
        let more = buf.len();
        *eof = fill(input, &mut buf, more)?;
    }
}

/// Appends up to `n` bytes; true at the end of the input.
fn fill<R: Read>(input: &mut R, buf: &mut Vec<u8>, n: usize) -> Result<bool, MaskError> {
    let read = input
        .take(n as u64)
        .read_to_end(buf)
        .map_err(|e| MaskError::Io(format!("cannot read the input: {e}")))?;
    Ok(read == 0)
}

/// The ends of the whole records in `buf` (just after each newline outside quotes); quotes
/// toggle, so an escaped `""` leaves the state as it was.
fn record_ends(buf: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut quoted = false;
    memchr::memchr2_iter(b'"', b'\n', buf).filter_map(move |i| {
        if buf[i] == b'"' {
            quoted = !quoted;
            return None;
        }
        (!quoted).then_some(i + 1)
    })
}

/// The end of the first record of `buf`.
fn first_boundary(buf: &[u8]) -> Option<usize> {
    record_ends(buf).next()
}

/// Record boundaries that cut `buf` into about `parts` pieces; the last one is the end of the
/// last complete record.
fn split_points(buf: &[u8], parts: usize) -> Vec<usize> {
    let mut ends = Vec::with_capacity(parts);
    let mut next = buf.len() / parts.max(1);
    let mut last = None;
    for end in record_ends(buf) {
        last = Some(end);
        if end >= next && ends.len() + 1 < parts {
            ends.push(end);
            next = buf.len() * (ends.len() + 1) / parts;
        }
    }
    if let Some(last) = last
        && ends.last() != Some(&last)
    {
        ends.push(last);
    }
    ends
}

/// A masked block: its output, and the records and lines it held.
struct Chunk {
    bytes: Vec<u8>,
    rows: u64,
    lines: u64,
}

/// Writes one field as CSV does with minimal quoting: quoted only when it holds a delimiter,
/// a quote or a line break (the common case is a plain copy).
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are short: a plain loop beats a SIMD search's set-up.
    let special = field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !special {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for &b in field {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Parses, masks and writes one block of whole records; line numbers in errors count from the
/// block's first line.
fn csv_chunk(ctx: &Ctx<'_>, ops: &[Option<(&str, &Op)>], bytes: &[u8]) -> Result<Chunk, MaskError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    // A record of one empty field is written `""`, as the csv crate does, so it is not a blank line.
    let kept = ops
        .iter()
        .filter(|op| ctx.reverse || !matches!(op, Some((_, Op::Redact))))
        .count();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(MaskError::Io(e.to_string())),
        }
        rows += 1;
        let line = record.position().map_or(1, |p| p.line());
        if record.len() != ops.len() {
            return Err(MaskError::Value {
                line,
                column: String::new(),
                message: format!(
                    "the row has {} fields; the header has {}",
                    record.len(),
                    ops.len()
                ),
            });
        }
        let mut written = 0;
        for (field, op) in record.iter().zip(ops) {
            let masked;
            let value = match *op {
                None => field,
                Some((_, Op::Redact)) if !ctx.reverse => continue,
                Some((column, op)) => {
                    let text = std::str::from_utf8(field).map_err(|_| MaskError::Value {
                        line,
                        column: column.to_string(),
                        message: "the value is not UTF-8".into(),
                    })?;
                    masked = ctx.mask(op, column, line, text)?;
                    masked.as_deref().unwrap_or_default().as_bytes()
                }
            };
            if written > 0 {
                out.push(b',');
            }
            written += 1;
            if value.is_empty() && kept == 1 {
                out.extend_from_slice(b"\"\"");
                continue;
            }
            push_field(&mut out, value);
        }
        out.push(b'\n');
    }
    Ok(Chunk {
        bytes: out,
        rows,
        lines: reader.position().line() - 1,
    })
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
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            line_no += 1;
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
    let mut map: Map<String, Value> =
        serde_json::from_slice(text).map_err(|e| MaskError::Value {
            line,
            column: String::new(),
            message: format!("not a JSON object: {e}"),
        })?;
    for (column, op, _) in &ctx.plan.ops {
        let Some(value) = map.get_mut(column) else {
            continue;
        };
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(MaskError::Value {
                    line,
                    column: column.clone(),
                    message: "nested values are not masked; flatten the field first".into(),
                });
            }
        };
        match ctx.mask(op, column, line, &text)? {
            Some(s) => *value = Value::String(s),
            None if matches!(op, Op::Redact) => {
                map.remove(column);
            }
            None => *value = Value::Null,
        }
    }
    let mut out = serde_json::to_vec(&map).map_err(io)?;
    out.push(b'\n');
    Ok(out)
}

/// A whole table in memory (whole-table mode and the grader).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names (for JSON Lines, every key seen, in first-seen order).
    pub columns: Vec<String>,
    /// Rows; `None` is a null or missing value.
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// Parses CSV or JSON Lines.
    pub fn parse(bytes: &[u8], format: Format) -> Result<Table, MaskError> {
        match format {
            Format::Csv => {
                let mut reader = csv::Reader::from_reader(bytes);
                let columns = reader
                    .headers()
                    .map_err(io)?
                    .iter()
                    .map(str::to_string)
                    .collect();
                let mut rows = Vec::new();
                for record in reader.records() {
                    let record = record.map_err(|e| MaskError::Io(format!("CSV: {e}")))?;
                    rows.push(record.iter().map(|v| Some(v.to_string())).collect());
                }
                Ok(Table { columns, rows })
            }
            Format::Jsonl => {
                let mut table = Table::default();
                let mut objects = Vec::new();
                for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let map: Map<String, Value> =
                        serde_json::from_slice(line).map_err(|e| MaskError::Value {
                            line: n as u64 + 1,
                            column: String::new(),
                            message: format!("not a JSON object: {e}"),
                        })?;
                    for k in map.keys() {
                        if !table.columns.contains(k) {
                            table.columns.push(k.clone());
                        }
                    }
                    objects.push(map);
                }
                for map in objects {
                    table.rows.push(
                        table
                            .columns
                            .iter()
                            .map(|c| match map.get(c) {
                                None | Some(Value::Null) => None,
                                Some(Value::String(s)) => Some(s.clone()),
                                Some(v) => Some(v.to_string()),
                            })
                            .collect(),
                    );
                }
                Ok(table)
            }
        }
    }

    /// The index of a column.
    pub fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// A column's values.
    pub fn column(&self, column: &str) -> Vec<Option<&str>> {
        match self.index(column) {
            Some(i) => self.rows.iter().map(|r| r[i].as_deref()).collect(),
            None => Vec::new(),
        }
    }

    /// Writes the table as CSV or JSON Lines.
    pub fn write<W: Write>(&self, output: W, format: Format) -> Result<(), MaskError> {
        match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(output);
                w.write_record(&self.columns).map_err(io)?;
                for row in &self.rows {
                    w.write_record(row.iter().map(|v| v.as_deref().unwrap_or("")))
                        .map_err(io)?;
                }
                w.flush().map_err(io)?;
            }
            Format::Jsonl => {
                let mut output = std::io::BufWriter::new(output);
                for row in &self.rows {
                    let map: Map<String, Value> = self
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| (c.clone(), v.clone().map_or(Value::Null, Value::String)))
                        .collect();
                    serde_json::to_writer(&mut output, &map).map_err(io)?;
                    output.write_all(b"\n").map_err(io)?;
                }
                output.flush().map_err(io)?;
            }
        }
        Ok(())
    }
}

/// Permutes each shuffled column of the masked table within groups of the original table's
/// `group_by` values (rows of the two tables correspond one to one).
fn shuffle(
    rules: &Rules,
    original: &Table,
    masked: &mut Table,
    seed: Option<u64>,
) -> Result<(), MaskError> {
    let mut rng = match seed {
        Some(s) => rand_chacha::ChaCha20Rng::seed_from_u64(s),
        None => rand_chacha::ChaCha20Rng::from_os_rng(),
    };
    for (rule, line) in &rules.rules {
        let Rule::Shuffle { column, group_by } = rule else {
            continue;
        };
        let Some(at) = masked.index(column) else {
            continue;
        };
        if let Some(c) = group_by.iter().find(|c| original.index(c).is_none()) {
            return Err(MaskError::Rules {
                file: rules.file.clone(),
                line: Some(*line),
                message: format!(
                    "group_by column '{c}' is not in the input; its columns are: {}",
                    original.columns.join(", ")
                ),
                fix: "correct the column name".into(),
            });
        }
        let keys: Vec<usize> = group_by.iter().filter_map(|g| original.index(g)).collect();
        let mut groups: HashMap<Vec<Option<&str>>, Vec<usize>> = HashMap::new();
        for (i, row) in original.rows.iter().enumerate() {
            let key = keys.iter().map(|&k| row[k].as_deref()).collect();
            groups.entry(key).or_default().push(i);
        }
        let mut ordered: Vec<Vec<usize>> = groups.into_values().collect();
        ordered.sort();
        let before: Vec<Option<String>> = masked.rows.iter().map(|r| r[at].clone()).collect();
        for rows in ordered {
            let mut from = rows.clone();
            from.shuffle(&mut rng);
            for (to, from) in rows.iter().zip(from) {
                masked.rows[*to][at] = before[from].clone();
            }
        }
    }
    Ok(())
}

fn suppress(table: &mut Table, a: &AnonymitySpec, file: &str) -> Result<(u64, u64), MaskError> {
    let mut idx = Vec::new();
    for q in &a.quasi_identifiers {
        idx.push(table.index(q).ok_or_else(|| MaskError::Rules {
            file: file.to_string(),
            line: None,
            message: format!(
                "[anonymity] quasi-identifier '{q}' is not in the masked output; its columns are: {}",
                table.columns.join(", ")
            ),
            fix: "name columns that are kept (not redacted)".into(),
        })?);
    }
    let key = |row: &Vec<Option<String>>| -> Vec<Option<String>> {
        idx.iter().map(|&i| row[i].clone()).collect()
    };
    let mut sizes: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    for row in &table.rows {
        *sizes.entry(key(row)).or_default() += 1;
    }
    let mut suppressed = 0;
    if a.suppress {
        let starred: Vec<Option<String>> = vec![Some("*".into()); idx.len()];
        for row in &mut table.rows {
            if sizes[&key(row)] < a.k {
                for &i in &idx {
                    row[i] = Some("*".into());
                }
                suppressed += 1;
            }
        }
        // Suppressed rows are out of the release, as in ARX: they form no class.
        sizes.clear();
        for row in &table.rows {
            let k = key(row);
            if k != starred {
                *sizes.entry(k).or_default() += 1;
            }
        }
    }
    let k = sizes.values().copied().min().unwrap_or(0) as u64;
    Ok((k, suppressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_at_newlines_outside_quotes() {
        let csv = b"a,\"x\ny\"\nb,\"say \"\"hi\"\"\n\"\nc,d\n";
        assert_eq!(record_ends(csv).collect::<Vec<_>>(), [8, 24, 28]);
        assert_eq!(first_boundary(csv), Some(8));
        assert_eq!(split_points(csv, 2), [24, 28]);
    }
}
