//! Parquet in and out, with the `parquet` crate's low-level column API (no Arrow). A file is
//! read row group by row group and written as the same row groups, so memory holds a few
//! column chunks at a time whatever the file size. Columns the rules leave alone are copied
//! as their encoded bytes (pages, encodings, compression and statistics as they were);
//! ruled columns are decoded in batches, masked and encoded again with the codec the input
//! used for them, with statistics computed from the masked values (the input's would leak
//! the originals). Ruled chunks of several row groups are masked at once, one per worker,
//! each into a buffer of its own that is then appended in order (row groups too large to
//! hold, [`Options::held_bytes`], are masked straight into the output one chunk after the
//! other); the bytes written are the same either way, and on any number of threads. In a
//! dictionary-encoded column chunk each distinct value is masked once; distinct values are
//! masked on every worker thread. Nulls stay null and repeated columns keep their levels.
//!
//! Types: a ruled column that holds text (BYTE_ARRAY) keeps its type; `null` keeps any type
//! (the column must be optional); any other rule on a number, boolean, date, timestamp or
//! fixed-length column reads the value as text (dates as `YYYY-MM-DD`, timestamps as RFC 3339
//! in UTC, decimals with their point) and writes a UTF-8 string column, which the summary
//! lists. `redact` removes the column. A column is named by its dotted path (`address.zip`
//! inside a group). Limits: `shuffle` and `[anonymity] suppress` need the whole table and are
//! refused; INT96 values are refused (rewrite them as timestamps); brotli and LZO input is
//! refused by the reader with the codec's name.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl, get_column_reader};
use parquet::column::writer::{
    ColumnCloseResult, ColumnWriter, ColumnWriterImpl, get_column_writer,
};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, FixedLenByteArray, Int96};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, KeyValue};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{ChunkReader, FileReader};
use parquet::file::serialized_reader::{SerializedFileReader, SerializedPageReader};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, ColumnDescriptor, ColumnPath, Type, TypePtr};
use rayon::prelude::*;

use super::MaskError;
use super::columns;
use super::ops::{Op, Plan};
use super::rules::{Rule, Rules};
use super::stream::{Options, Summary};
use crate::chunk_io::{InMemory, Shared};
pub use crate::parquet_rows::from_csv;

/// Records decoded, masked and encoded at a time.
const BATCH: usize = 16 * 1024;

/// Distinct values remembered per column chunk (a dictionary that large has long since
/// fallen back to plain pages).
const MEMO_LIMIT: usize = 1 << 20;

/// The file extensions that mean Parquet.
pub fn is_parquet_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".parquet", ".parq", ".pq"]
        .iter()
        .any(|e| lower.ends_with(e))
}

fn pq(what: &str) -> impl Fn(ParquetError) -> MaskError + '_ {
    move |e| MaskError::Io(format!("Parquet {what}: {e}"))
}

/// How a value is read as text.
#[derive(Debug, Clone, Copy)]
enum Text {
    Plain,
    Date,
    /// Units per second.
    Timestamp(i64),
    /// Digits after the point.
    Decimal(i32),
}

/// What happens to one leaf column.
enum Action<'a> {
    Copy,
    Drop,
    Null,
    Mask {
        op: &'a Op,
        column: String,
        text: Text,
        retyped: bool,
    },
}

fn text_kind(descr: &ColumnDescriptor) -> Text {
    match descr.logical_type_ref() {
        Some(LogicalType::Date) => Text::Date,
        Some(LogicalType::Timestamp(t)) => Text::Timestamp(match t.unit {
            TimeUnit::MILLIS => 1_000,
            TimeUnit::MICROS => 1_000_000,
            TimeUnit::NANOS => 1_000_000_000,
        }),
        Some(LogicalType::Decimal(d)) => Text::Decimal(d.scale),
        _ => Text::Plain,
    }
}

fn action<'a>(
    plan: &'a Plan,
    descr: &ColumnDescriptor,
    reverse: bool,
) -> Result<Action<'a>, MaskError> {
    let column = descr.path().string();
    let Some((_, op, line)) = plan.ops.iter().find(|(c, ..)| *c == column) else {
        return Ok(Action::Copy);
    };
    let refuse = |message: String, fix: &str| MaskError::Rules {
        file: plan.file.clone(),
        line: Some(*line),
        message,
        fix: fix.to_string(),
    };
    if reverse && !matches!(op, Op::Siv { .. } | Op::Fpe(_)) {
        return Ok(Action::Copy);
    }
    let physical = descr.physical_type();
    Ok(match op {
        Op::Redact if !reverse => Action::Drop,
        Op::Null => {
            if descr.self_type().get_basic_info().repetition() != Repetition::OPTIONAL {
                return Err(refuse(
                    format!(
                        "column '{column}' is not optional in the Parquet schema, so it cannot hold nulls"
                    ),
                    "use redact to remove the column, or replace to give it a fixed value",
                ));
            }
            Action::Null
        }
        Op::Shuffle => unreachable!("refused before: shuffle needs the whole table"),
        _ if physical == Physical::INT96 => {
            return Err(refuse(
                format!("column '{column}' is INT96, a legacy timestamp keylab does not read"),
                "rewrite the column as a TIMESTAMP (INT64) before masking it",
            ));
        }
        _ => Action::Mask {
            op,
            column,
            text: text_kind(descr),
            retyped: physical != Physical::BYTE_ARRAY,
        },
    })
}

/// The output schema: dropped leaves removed (and groups left empty), retyped leaves made
/// UTF-8 strings, everything else as it was.
fn rebuild(
    t: &TypePtr,
    actions: &mut std::slice::Iter<'_, Action<'_>>,
) -> Result<Option<TypePtr>, MaskError> {
    if t.is_primitive() {
        let action = actions
            .next()
            .ok_or_else(|| MaskError::Io("Parquet schema: more leaves than columns".into()))?;
        return Ok(match action {
            Action::Drop => None,
            Action::Mask { retyped: true, .. } => {
                let info = t.get_basic_info();
                let mut b = Type::primitive_type_builder(info.name(), Physical::BYTE_ARRAY)
                    .with_repetition(info.repetition())
                    .with_logical_type(Some(LogicalType::String));
                if info.has_id() {
                    b = b.with_id(Some(info.id()));
                }
                Some(Arc::new(b.build().map_err(pq("schema"))?))
            }
            _ => Some(t.clone()),
        });
    }
    let mut fields = Vec::new();
    let mut same = true;
    for f in t.get_fields() {
        match rebuild(f, actions)? {
            Some(n) => {
                same &= Arc::ptr_eq(&n, f);
                fields.push(n);
            }
            None => same = false,
        }
    }
    if same {
        return Ok(Some(t.clone()));
    }
    if fields.is_empty() {
        return Ok(None);
    }
    let info = t.get_basic_info();
    let mut b = Type::group_type_builder(info.name())
        .with_fields(fields)
        .with_logical_type(info.logical_type_ref().cloned())
        .with_converted_type(info.converted_type());
    if info.has_repetition() {
        b = b.with_repetition(info.repetition());
    }
    if info.has_id() {
        b = b.with_id(Some(info.id()));
    }
    Ok(Some(Arc::new(b.build().map_err(pq("schema"))?)))
}

/// The copy of an untouched column chunk: its metadata as it was, without page indexes.
fn copied(meta: &ColumnChunkMetaData, rows: i64) -> ColumnCloseResult {
    ColumnCloseResult {
        bytes_written: meta.compressed_size() as u64,
        rows_written: rows as u64,
        metadata: meta.clone(),
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    }
}

/// Masks a Parquet file into `output` as Parquet (see the module documentation).
pub fn run<R: ChunkReader + 'static, W: Write + Send>(
    rules: &Rules,
    plan: &Plan,
    input: R,
    output: W,
    options: &Options,
) -> Result<Summary, MaskError> {
    refuse_whole_table_rules(rules, options)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .build()
        .map_err(|e| MaskError::Io(format!("cannot start worker threads: {e}")))?;
    let shared = Arc::new(input);
    let reader = SerializedFileReader::new(Shared(shared.clone()))
        .map_err(|e| MaskError::Io(format!("the input is not a readable Parquet file: {e}")))?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr_ptr();
    let leaves = schema.columns();
    let names: Vec<String> = leaves.iter().map(|c| c.path().string()).collect();
    let skipped = columns::check_csv(plan, &names, options.reverse)?;
    let actions: Vec<Action<'_>> = leaves
        .iter()
        .map(|d| action(plan, d, options.reverse))
        .collect::<Result<_, _>>()?;
    let root = rebuild(&schema.root_schema_ptr(), &mut actions.iter())?.ok_or_else(|| {
        MaskError::Io("every column of the input is redacted: nothing is left to write".into())
    })?;
    let changed = !Arc::ptr_eq(&root, &schema.root_schema_ptr());
    let props = Arc::new(writer_properties(meta, leaves, &actions, changed));
    let mut writer =
        SerializedFileWriter::new(output, root, props.clone()).map_err(pq("writer"))?;
    let mut summary = Summary {
        skipped,
        retyped: actions
            .iter()
            .filter_map(|a| match a {
                Action::Mask {
                    retyped: true,
                    column,
                    ..
                } => Some(column.clone()),
                _ => None,
            })
            .collect(),
        ..Summary::default()
    };
    // The output leaf of each ruled input leaf (dropped leaves have none).
    let out_leaves = writer.schema_descr().columns().to_vec();
    let mut kept = out_leaves.iter();
    let out_descr: Vec<Option<ColumnDescPtr>> = actions
        .iter()
        .map(|a| {
            (!matches!(a, Action::Drop))
                .then(|| kept.next().cloned())
                .flatten()
        })
        .collect();
    let ruled: Vec<usize> = (0..actions.len())
        .filter(|&i| matches!(actions[i], Action::Mask { .. } | Action::Null))
        .collect();
    let job = Job {
        plan,
        pool: &pool,
        reverse: options.reverse,
        reader: &reader,
        leaves,
        actions: &actions,
        out_descr: &out_descr,
        props: &props,
    };
    let raw = Shared(shared);
    let groups = meta.num_row_groups();
    // Row groups whose ruled chunks are small enough to hold (`Options::held_bytes`, by the
    // input's metadata) are masked a window of one per worker at a time, every chunk on its
    // own worker into its own buffer, while this thread appends the window before: memory
    // holds two windows whatever the file size. A larger row group is masked straight into
    // the output.
    let held = |g: usize| {
        let bytes: i64 = ruled
            .iter()
            .map(|&i| meta.row_group(g).column(i).uncompressed_size().max(0))
            .sum();
        bytes as u64 <= options.held_bytes as u64
    };
    let window = pool.current_num_threads().max(1);
    let mut ready: Vec<(usize, Vec<Result<Encoded, MaskError>>)> = Vec::new();
    let mut g = 0;
    loop {
        let first = g;
        while g < groups && g - first < window && held(g) {
            g += 1;
        }
        // The input chunks are read here: one reader of the input at a time (a file's
        // clones share one offset).
        let units: Vec<(usize, usize, Bytes)> = (first..g)
            .flat_map(|group| ruled.iter().map(move |&i| (group, i)))
            .map(|(group, i)| {
                let (start, len) = meta.row_group(group).column(i).byte_range();
                let bytes = raw.get_bytes(start, len as usize).map_err(pq("read"))?;
                Ok((group, i, bytes))
            })
            .collect::<Result<_, MaskError>>()?;
        let mut encoded: Vec<Result<Encoded, MaskError>> = Vec::new();
        let mut written = Ok(());
        pool.in_place_scope(|scope| {
            let encoded = &mut encoded;
            let job = &job;
            let units = &units;
            scope.spawn(move |_| {
                *encoded = units
                    .par_iter()
                    .map(|(group, i, bytes)| job.encode(*group, *i, bytes))
                    .collect();
            });
            written = ready.drain(..).try_for_each(|(group, chunks)| {
                job.append(&mut writer, &raw, group, chunks, &mut summary)
            });
        });
        written?;
        let mut encoded = encoded.into_iter();
        ready = (first..g)
            .map(|group| (group, encoded.by_ref().take(ruled.len()).collect()))
            .collect();
        if first == g {
            if g == groups {
                break;
            }
            job.stream(&mut writer, &raw, g, &mut summary)?;
            g += 1;
        }
    }
    writer.close().map_err(pq("writer"))?;
    Ok(summary)
}

/// `shuffle` and `[anonymity]` need the whole table in memory: refused for Parquet.
fn refuse_whole_table_rules(rules: &Rules, options: &Options) -> Result<(), MaskError> {
    let whole_table = rules.anonymity.is_some()
        || rules
            .rules
            .iter()
            .any(|(r, _)| matches!(r, Rule::Shuffle { .. }));
    if options.reverse || !whole_table {
        return Ok(());
    }
    Err(MaskError::Rules {
        file: rules.file.clone(),
        line: None,
        message: "shuffle and [anonymity] need the whole table in memory, which keylab does for CSV and JSON Lines but not for Parquet".into(),
        fix: "mask the Parquet file with rules without them, or convert the table to CSV for this step".into(),
    })
}

/// The output's writer properties: keylab as the writer, the input's key-value metadata
/// (marked when the schema `changed`), and each ruled column compressed with the codec the
/// input used for it.
fn writer_properties(
    meta: &parquet::file::metadata::ParquetMetaData,
    leaves: &[ColumnDescPtr],
    actions: &[Action<'_>],
    changed: bool,
) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_created_by(format!("keylab mask {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(key_values(
            meta.file_metadata().key_value_metadata(),
            changed,
        ));
    if meta.num_row_groups() > 0 {
        let first = meta.row_group(0);
        for (i, a) in actions.iter().enumerate() {
            if matches!(a, Action::Mask { .. } | Action::Null) {
                props = props.set_column_compression(
                    ColumnPath::new(leaves[i].path().parts().to_vec()),
                    first.column(i).compression(),
                );
            }
        }
    }
    props.build()
}

/// A ruled column chunk masked and encoded into memory, to be appended to the output.
struct Encoded {
    bytes: Bytes,
    close: ColumnCloseResult,
}

/// What masking a file's row groups needs.
struct Job<'a, R: ChunkReader> {
    plan: &'a Plan,
    pool: &'a rayon::ThreadPool,
    reverse: bool,
    reader: &'a SerializedFileReader<Shared<R>>,
    leaves: &'a [ColumnDescPtr],
    actions: &'a [Action<'a>],
    /// The output leaf of each input leaf that is kept.
    out_descr: &'a [Option<ColumnDescPtr>],
    props: &'a Arc<WriterProperties>,
}

impl<R: ChunkReader + 'static> Job<'_, R> {
    /// How to mask input leaf `i` of row group `g`.
    fn chunk(&self, g: usize, i: usize) -> Chunk<'_> {
        let column = self.reader.metadata().row_group(g).column(i);
        Chunk {
            plan: self.plan,
            pool: self.pool,
            reverse: self.reverse,
            group: g,
            // Salted hashes differ for equal values on purpose: never shared.
            memo: column.dictionary_page_offset().is_some()
                && !matches!(
                    self.actions[i],
                    Action::Mask {
                        op: Op::Password(_),
                        ..
                    }
                ),
            descr: &self.leaves[i],
        }
    }

    fn column_reader(&self, g: usize, i: usize) -> Result<ColumnReader, MaskError> {
        let group = self.reader.get_row_group(g).map_err(pq("row group"))?;
        let pages = group.get_column_page_reader(i).map_err(pq("read"))?;
        Ok(get_column_reader(self.leaves[i].clone(), pages))
    }

    /// Masks ruled leaf `i` of row group `g`, whose encoded bytes are `raw`, into a buffer
    /// of its own.
    fn encode(&self, g: usize, i: usize, raw: &Bytes) -> Result<Encoded, MaskError> {
        let descr = self.out_descr[i]
            .clone()
            .ok_or_else(|| MaskError::Io("Parquet writer: a ruled column has no place".into()))?;
        let group = self.reader.metadata().row_group(g);
        let meta = group.column(i);
        let input = InMemory {
            start: meta.byte_range().0,
            bytes: raw.clone(),
        };
        let pages = SerializedPageReader::new(
            Arc::new(input),
            meta,
            group.num_rows().max(0) as usize,
            None,
        )
        .map_err(pq("read"))?;
        let column = get_column_reader(self.leaves[i].clone(), Box::new(pages));
        let mut sink = TrackedWrite::new(Vec::new());
        let close = {
            let pages = Box::new(SerializedPageWriter::new(&mut sink));
            let mut writer = get_column_writer(descr, self.props.clone(), pages);
            self.chunk(g, i)
                .mask(&self.actions[i], column, &mut writer)?;
            writer.close().map_err(pq("writer"))?
        };
        let bytes = sink.into_inner().map_err(pq("writer"))?;
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            close,
        })
    }

    /// Appends row group `g`: untouched chunks copied from the input, ruled ones from
    /// `chunks` (in leaf order).
    fn append<W: Write + Send>(
        &self,
        writer: &mut SerializedFileWriter<W>,
        raw: &Shared<R>,
        g: usize,
        chunks: Vec<Result<Encoded, MaskError>>,
        summary: &mut Summary,
    ) -> Result<(), MaskError> {
        let group = self.reader.metadata().row_group(g);
        let rows = group.num_rows();
        let mut chunks = chunks.into_iter();
        let mut out = writer.next_row_group().map_err(pq("writer"))?;
        for (i, a) in self.actions.iter().enumerate() {
            match a {
                Action::Drop => {}
                Action::Copy => out
                    .append_column(raw, copied(group.column(i), rows))
                    .map_err(pq("copy"))?,
                Action::Null | Action::Mask { .. } => {
                    let chunk = chunks.next().ok_or_else(|| {
                        MaskError::Io("Parquet writer: a chunk is missing".into())
                    })??;
                    out.append_column(&chunk.bytes, chunk.close)
                        .map_err(pq("writer"))?;
                }
            }
        }
        out.close().map_err(pq("writer"))?;
        summary.rows += rows as u64;
        Ok(())
    }

    /// Masks row group `g` straight into the output, one chunk after the other (values
    /// are still masked on every worker).
    fn stream<W: Write + Send>(
        &self,
        writer: &mut SerializedFileWriter<W>,
        raw: &Shared<R>,
        g: usize,
        summary: &mut Summary,
    ) -> Result<(), MaskError> {
        let group = self.reader.metadata().row_group(g);
        let rows = group.num_rows();
        let mut out = writer.next_row_group().map_err(pq("writer"))?;
        for (i, a) in self.actions.iter().enumerate() {
            match a {
                Action::Drop => {}
                Action::Copy => out
                    .append_column(raw, copied(group.column(i), rows))
                    .map_err(pq("copy"))?,
                Action::Null | Action::Mask { .. } => {
                    let column = self.column_reader(g, i)?;
                    let mut cw = out
                        .next_column()
                        .map_err(pq("writer"))?
                        .ok_or_else(|| MaskError::Io("Parquet writer: out of columns".into()))?;
                    self.chunk(g, i).mask(a, column, cw.untyped())?;
                    cw.close().map_err(pq("writer"))?;
                }
            }
        }
        out.close().map_err(pq("writer"))?;
        summary.rows += rows as u64;
        Ok(())
    }
}

/// The input's key-value metadata; when the schema changed, without the Arrow and pandas
/// schemas, which would describe columns that are no longer there or no longer of that type.
fn key_values(kv: Option<&Vec<KeyValue>>, changed: bool) -> Option<Vec<KeyValue>> {
    let kept: Vec<KeyValue> = kv?
        .iter()
        .filter(|k| !changed || !matches!(k.key.as_str(), "ARROW:schema" | "pandas"))
        .cloned()
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// One ruled column chunk being masked.
struct Chunk<'a> {
    plan: &'a Plan,
    pool: &'a rayon::ThreadPool,
    reverse: bool,
    group: usize,
    /// Whether the chunk is dictionary-encoded: distinct values are then remembered.
    memo: bool,
    descr: &'a ColumnDescriptor,
}

macro_rules! each_type {
    ($reader:expr, $r:ident => $body:expr) => {
        match $reader {
            ColumnReader::BoolColumnReader($r) => $body,
            ColumnReader::Int32ColumnReader($r) => $body,
            ColumnReader::Int64ColumnReader($r) => $body,
            ColumnReader::Int96ColumnReader($r) => $body,
            ColumnReader::FloatColumnReader($r) => $body,
            ColumnReader::DoubleColumnReader($r) => $body,
            ColumnReader::ByteArrayColumnReader($r) => $body,
            ColumnReader::FixedLenByteArrayColumnReader($r) => $body,
        }
    };
}

impl Chunk<'_> {
    fn mask(
        &self,
        action: &Action<'_>,
        reader: ColumnReader,
        writer: &mut ColumnWriter<'_>,
    ) -> Result<(), MaskError> {
        match action {
            Action::Null => each_type!(reader, r => self.nulls(r, writer)),
            Action::Mask {
                op, column, text, ..
            } => {
                let ColumnWriter::ByteArrayColumnWriter(w) = writer else {
                    return Err(MaskError::Io(format!(
                        "Parquet writer: column '{column}' is not a string column"
                    )));
                };
                each_type!(reader, r => self.values(r, w, op, column, *text))
            }
            Action::Copy | Action::Drop => Ok(()),
        }
    }

    fn levels<'b>(&self, def: &'b [i16], rep: &'b [i16]) -> (Option<&'b [i16]>, Option<&'b [i16]>) {
        (
            (self.descr.max_def_level() > 0).then_some(def),
            (self.descr.max_rep_level() > 0).then_some(rep),
        )
    }

    /// Writes the chunk with every value null (the levels say so), in its own type.
    fn nulls<T: DataType>(
        &self,
        mut reader: ColumnReaderImpl<T>,
        writer: &mut ColumnWriter<'_>,
    ) -> Result<(), MaskError> {
        let writer = T::get_column_writer_mut(writer)
            .ok_or_else(|| MaskError::Io("Parquet writer: the column changed type".into()))?;
        let max = self.descr.max_def_level();
        let (mut def, mut rep, mut values) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            def.clear();
            rep.clear();
            values.clear();
            let (records, _, levels) = reader
                .read_records(BATCH, Some(&mut def), Some(&mut rep), &mut values)
                .map_err(pq("read"))?;
            if records == 0 && levels == 0 {
                return Ok(());
            }
            for d in &mut def {
                if *d == max {
                    *d = max - 1;
                }
            }
            let (d, r) = self.levels(&def, &rep);
            writer.write_batch(&[], d, r).map_err(pq("write"))?;
        }
    }

    /// Masks every value of the chunk into a string column.
    fn values<T: DataType>(
        &self,
        mut reader: ColumnReaderImpl<T>,
        writer: &mut ColumnWriterImpl<'_, ByteArrayType>,
        op: &Op,
        column: &str,
        text: Text,
    ) -> Result<(), MaskError>
    where
        T::T: Cell,
    {
        let (mut def, mut rep, mut values) = (Vec::new(), Vec::new(), Vec::new());
        let mut memo = Memo::new();
        let mut remembering = self.memo;
        // A first batch small enough that a chunk of distinct values is found out cheaply.
        let mut batch = if remembering { 1024 } else { BATCH };
        let mut masked: Vec<ByteArray> = Vec::new();
        loop {
            def.clear();
            rep.clear();
            values.clear();
            let (records, _, levels) = reader
                .read_records(batch, Some(&mut def), Some(&mut rep), &mut values)
                .map_err(pq("read"))?;
            if records == 0 && levels == 0 {
                return Ok(());
            }
            batch = BATCH;
            masked.clear();
            if remembering {
                if memo.len() > MEMO_LIMIT {
                    memo.clear();
                }
                let fresh = self.remember(&values, &mut memo, op, column, text)?;
                let mut key = [0u8; 16];
                masked.extend(values.iter().map(|v| memo[v.key(&mut key)].clone()));
                // A chunk whose values are nearly all distinct (a dictionary as large as the
                // chunk) gains nothing from remembering them: mask each value from here on.
                if fresh * 16 > values.len() * 15 {
                    remembering = false;
                    memo = Memo::new();
                }
            } else {
                let done: Vec<Result<ByteArray, MaskError>> = self.pool.install(|| {
                    values
                        .par_iter()
                        .map(|v| self.one(v, op, column, text))
                        .collect()
                });
                for m in done {
                    masked.push(m?);
                }
            }
            let (d, r) = self.levels(&def, &rep);
            writer.write_batch(&masked, d, r).map_err(pq("write"))?;
        }
    }

    /// Masks the values of a batch that the chunk has not seen yet, on every worker.
    /// Returns how many values were new to the chunk.
    fn remember<V: Cell>(
        &self,
        values: &[V],
        memo: &mut Memo,
        op: &Op,
        column: &str,
        text: Text,
    ) -> Result<usize, MaskError> {
        let mut key = [0u8; 16];
        let mut new: Vec<&V> = Vec::new();
        for v in values {
            // A placeholder, so a value repeated in the batch is masked once.
            if let std::collections::hash_map::Entry::Vacant(e) = memo.entry(Key(v.owned())) {
                e.insert(ByteArray::new());
                new.push(v);
            }
        }
        let done: Vec<Result<ByteArray, MaskError>> = self.pool.install(|| {
            new.par_iter()
                .map(|v| self.one(*v, op, column, text))
                .collect()
        });
        let fresh = new.len();
        for (v, m) in new.into_iter().zip(done) {
            if let Some(slot) = memo.get_mut(v.key(&mut key)) {
                *slot = m?;
            }
        }
        Ok(fresh)
    }

    fn one<V: Cell>(
        &self,
        value: &V,
        op: &Op,
        column: &str,
        text: Text,
    ) -> Result<ByteArray, MaskError> {
        let error = |message: String| {
            let rule = self
                .plan
                .ops
                .iter()
                .find(|(c, ..)| c == column)
                .map(|(_, _, l)| format!(" (rule on line {l} of {})", self.plan.file))
                .unwrap_or_default();
            MaskError::Row {
                group: self.group,
                column: column.to_string(),
                message: format!("{message}{rule}"),
            }
        };
        let value = value.text(text).map_err(error)?;
        if self.reverse {
            return Ok(ByteArray::from(
                op.reverse(&value).map_err(error)?.into_bytes(),
            ));
        }
        if let Op::Hmac { .. } = op {
            // Tokens (base64url or hex) are written without intermediate strings.
            let mut out = Vec::with_capacity(64);
            op.write_csv(&value, &mut out).map_err(error)?;
            return Ok(ByteArray::from(out));
        }
        Ok(ByteArray::from(
            op.apply(&value)
                .map_err(error)?
                .unwrap_or_default()
                .into_bytes(),
        ))
    }
}

/// A value remembered by its bytes: a byte array shares its buffer (no copy), a number is
/// its little-endian bytes. Hashed and compared as the bytes, so a `&[u8]` finds it.
#[derive(Clone)]
struct Key(ByteArray);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.0.data() == other.0.data()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.data().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.0.data()
    }
}

/// The masked form of each distinct value seen in a dictionary-encoded chunk.
type Memo = HashMap<Key, ByteArray>;

/// A Parquet value as masking reads it: bytes to remember it by, and its text.
trait Cell: Send + Sync {
    /// The value's bytes (numbers little-endian in `buf`).
    fn key<'a>(&'a self, buf: &'a mut [u8; 16]) -> &'a [u8];
    /// The value's bytes to keep as a memo key.
    fn owned(&self) -> ByteArray {
        let mut buf = [0u8; 16];
        ByteArray::from(self.key(&mut buf).to_vec())
    }
    /// The value as text.
    fn text(&self, kind: Text) -> Result<Cow<'_, str>, String>;
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|_| "the value is not UTF-8 text".to_string())
}

impl Cell for ByteArray {
    fn key<'a>(&'a self, _: &'a mut [u8; 16]) -> &'a [u8] {
        self.data()
    }

    fn owned(&self) -> ByteArray {
        self.clone()
    }

    fn text(&self, _: Text) -> Result<Cow<'_, str>, String> {
        utf8(self.data())
    }
}

impl Cell for FixedLenByteArray {
    fn key<'a>(&'a self, _: &'a mut [u8; 16]) -> &'a [u8] {
        self.data()
    }

    fn text(&self, _: Text) -> Result<Cow<'_, str>, String> {
        utf8(self.data())
    }
}

impl Cell for Int96 {
    fn key<'a>(&'a self, buf: &'a mut [u8; 16]) -> &'a [u8] {
        for (i, w) in self.data().iter().enumerate() {
            buf[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        &buf[..12]
    }

    fn text(&self, _: Text) -> Result<Cow<'_, str>, String> {
        Err("INT96 values are not read".into())
    }
}

impl Cell for bool {
    fn key<'a>(&'a self, buf: &'a mut [u8; 16]) -> &'a [u8] {
        buf[0] = u8::from(*self);
        &buf[..1]
    }

    fn text(&self, _: Text) -> Result<Cow<'_, str>, String> {
        Ok(Cow::Borrowed(if *self { "true" } else { "false" }))
    }
}

macro_rules! cell {
    ($t:ty, $float:expr) => {
        impl Cell for $t {
            fn key<'a>(&'a self, buf: &'a mut [u8; 16]) -> &'a [u8] {
                let b = self.to_le_bytes();
                buf[..b.len()].copy_from_slice(&b);
                &buf[..b.len()]
            }

            fn text(&self, kind: Text) -> Result<Cow<'_, str>, String> {
                if $float {
                    return Ok(Cow::Owned(self.to_string()));
                }
                Ok(Cow::Owned(number_text(*self as i64, kind)))
            }
        }
    };
}

cell!(i32, false);
cell!(i64, false);
cell!(f32, true);
cell!(f64, true);

fn number_text(int: i64, kind: Text) -> String {
    match kind {
        Text::Plain => int.to_string(),
        Text::Date => civil(int),
        Text::Timestamp(per_second) => {
            let secs = int.div_euclid(per_second);
            let frac = int.rem_euclid(per_second);
            let date = civil(secs.div_euclid(86_400));
            let t = secs.rem_euclid(86_400);
            let digits = per_second.ilog10() as usize;
            let fraction = if frac == 0 {
                String::new()
            } else {
                format!(".{frac:0digits$}")
            };
            format!(
                "{date}T{:02}:{:02}:{:02}{fraction}Z",
                t / 3600,
                t / 60 % 60,
                t % 60
            )
        }
        Text::Decimal(scale) if scale > 0 => {
            let scale = scale as usize;
            let digits = format!("{:0width$}", int.unsigned_abs(), width = scale + 1);
            let (whole, fraction) = digits.split_at(digits.len() - scale);
            format!("{}{whole}.{fraction}", if int < 0 { "-" } else { "" })
        }
        Text::Decimal(_) => int.to_string(),
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (Howard Hinnant's civil-from-days).
fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Masks an in-memory Parquet file (for tests and the console).
pub fn mask_bytes(
    rules: &Rules,
    plan: &Plan,
    input: &[u8],
    options: &Options,
) -> Result<(Vec<u8>, Summary), MaskError> {
    let mut out = Vec::with_capacity(input.len());
    let summary = run(
        rules,
        plan,
        Bytes::copy_from_slice(input),
        &mut out,
        options,
    )?;
    Ok((out, summary))
}

#[cfg(test)]
#[path = "columnar_tests.rs"]
mod roundtrip;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_timestamps_and_decimals_as_text() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(5235), "1984-05-02");
        assert_eq!(civil(-1), "1969-12-31");
        assert_eq!(
            number_text(449_668_800_123, Text::Timestamp(1000)),
            "1984-04-01T12:00:00.123Z"
        );
        assert_eq!(
            number_text(449_668_800_000_000, Text::Timestamp(1_000_000)),
            "1984-04-01T12:00:00Z"
        );
        assert_eq!(number_text(-1234, Text::Decimal(2)), "-12.34");
        assert_eq!(number_text(5, Text::Decimal(2)), "0.05");
        assert_eq!(2.5f32.text(Text::Plain).unwrap(), "2.5");
    }
}
