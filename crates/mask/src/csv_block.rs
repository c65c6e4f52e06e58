//! Masks one block of whole CSV records (see [`crate::blocks`]) into a reused output buffer.
//! The block is parsed by `csv_core` (the `csv` crate's parser, same defaults), field by field:
//! each field's raw bytes are known from how much input the parser took, so runs of fields the
//! rules leave alone are copied as they are, delimiters included, in one copy; only ruled
//! fields are unescaped, masked and written with minimal quoting. An untouched field therefore
//! keeps its original quoting (`"a"` stays `"a"`, `5'10" tall` stays unquoted), which reads back
//! as the same value. Records end in `\n` on output.

use csv_core::{ReadFieldResult, Reader};

use super::MaskError;
use super::ops::Op;

/// What a worker needs for a block: the columns' operations and how to call them.
pub trait Masker: Sync {
    /// Masks one value of `column` on `line` into `out` (`Ok(false)` for a null, written empty).
    fn mask_into(
        &self,
        op: &Op,
        column: &str,
        line: u64,
        value: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), MaskError>;
    /// Whether the run undoes the rules (redacted columns are then kept).
    fn reverse(&self) -> bool;
    /// Masks one value given as the field's bytes: [`Masker::mask_into`] once they are
    /// known to be UTF-8 (an implementation may take ASCII bytes as they are).
    fn mask_bytes_into(
        &self,
        op: &Op,
        column: &str,
        line: u64,
        value: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), MaskError> {
        let text = std::str::from_utf8(value).map_err(|_| MaskError::Value {
            line,
            column: column.to_string(),
            message: "the value is not UTF-8".into(),
        })?;
        self.mask_into(op, column, line, text, out)
    }
}

/// A masked block's counts (its bytes are in the caller's buffer).
pub struct Counts {
    /// Records.
    pub rows: u64,
    /// Line feeds in the block.
    pub lines: u64,
}

/// Writes one field as CSV does with minimal quoting: quoted only when it holds a delimiter,
/// a quote or a line break (the common case is a plain copy).
pub fn push_field(out: &mut Vec<u8>, field: &[u8]) {
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

/// The rest of a record from a field's start, when it can be copied without parsing: the
/// offset of the line feed that ends it and the number of fields in it, following the quoting
/// of [`crate::blocks`] and counting delimiters outside quotes. `None` (parse it instead) when
/// it holds a `\r` other than the one before that line feed (a lone `\r` ends a record for
/// the parser) or has no line feed.
pub fn untouched_tail(buf: &[u8]) -> Option<(usize, usize)> {
    // The common case, no quote before the line feed: find it and count the delimiters
    // before it in vectorised passes instead of stopping at every delimiter.
    let first = memchr::memchr2(b'"', b'\n', buf)?;
    if buf[first] == b'\n' {
        let body = &buf[..first - usize::from(first > 0 && buf[first - 1] == b'\r')];
        let (commas, returns) = commas_and_returns(body);
        return (!returns).then_some((first, 1 + commas));
    }
    let mut quoted = false;
    let mut skip = 0;
    let mut fields = 1;
    for i in memchr::memchr3_iter(b'"', b'\n', b',', buf) {
        if i < skip {
            continue;
        }
        match buf[i] {
            b'\n' if !quoted => {
                let body = &buf[..i - usize::from(i > 0 && buf[i - 1] == b'\r')];
                return memchr::memchr(b'\r', body).is_none().then_some((i, fields));
            }
            b',' if !quoted => fields += 1,
            b'"' if quoted => {
                if buf.get(i + 1) == Some(&b'"') {
                    skip = i + 2;
                } else {
                    quoted = false;
                }
            }
            b'"' => quoted = i == 0 || matches!(buf[i - 1], b',' | b'\n' | b'\r'),
            _ => {}
        }
    }
    None
}

/// The delimiters in `bytes`, and whether it holds a `\r`: one pass, eight bytes at a time
/// (a record's tail is too short for a vectorised search per byte value to repay its
/// set-up).
fn commas_and_returns(bytes: &[u8]) -> (usize, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The top bit of each byte of `w` equal to `b`, and no other bit: a byte of `x` is
    // zero exactly when neither its low seven bits (the sum carries into the top bit, never
    // beyond the byte) nor its top bit are set.
    let equal = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        !(((x & LOW7) + LOW7) | x | LOW7)
    };
    let mut commas = 0;
    let mut returns = 0;
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    for word in words {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        commas += equal(w, b',').count_ones() as usize;
        returns |= equal(w, b'\r');
    }
    for &b in rest {
        commas += usize::from(b == b',');
        returns |= u64::from(b == b'\r');
    }
    (commas, returns != 0)
}

/// The length of the field at the start of `buf` when it is unquoted and ends in a delimiter
/// (not a line break): then its bytes are its value, as the parser would read them (a `"`
/// inside an unquoted field is a literal character).
fn plain_field(buf: &[u8]) -> Option<usize> {
    if matches!(buf.first(), None | Some(b'"' | b'\n' | b'\r')) {
        return None;
    }
    let end = memchr::memchr3(b',', b'\n', b'\r', buf)?;
    (buf[end] == b',').then_some(end)
}

/// Masks one field's value into `out` (its line is set by the caller).
fn mask_field<M: Masker>(
    m: &M,
    column: &str,
    op: &Op,
    value: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), MaskError> {
    m.mask_bytes_into(op, column, 0, value, out)
}

/// A value error placed on `line`.
fn at_line(e: MaskError, line: u64) -> MaskError {
    match e {
        MaskError::Value {
            column, message, ..
        } => MaskError::Value {
            line,
            column,
            message,
        },
        other => other,
    }
}

fn width_error(line: u64, fields: usize, header: usize) -> MaskError {
    MaskError::Value {
        line,
        column: String::new(),
        message: format!("the row has {fields} fields; the header has {header}"),
    }
}

/// The state of the record being written.
struct Record {
    /// Raw input bytes waiting to be copied: untouched fields with the delimiters between.
    span: Option<(usize, usize)>,
    /// Fields written so far.
    written: usize,
    /// Fields read so far.
    field: usize,
    /// Where the record's output starts.
    out_start: usize,
}

impl Record {
    fn flush(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if let Some((a, b)) = self.span.take() {
            out.extend_from_slice(&bytes[a..b]);
        }
    }

    /// An untouched field `bytes[a..b]`: joined to the span before it when adjacent.
    fn untouched(&mut self, a: usize, b: usize, bytes: &[u8], out: &mut Vec<u8>) {
        match self.span {
            Some((sa, sb)) if sb + 1 == a => self.span = Some((sa, b)),
            _ => {
                self.flush(bytes, out);
                self.next_out(out);
                self.span = Some((a, b));
            }
        }
    }

    /// Starts a new output field: the delimiter before it.
    fn next_out(&mut self, out: &mut Vec<u8>) {
        if self.written > 0 {
            out.push(b',');
        }
        self.written += 1;
    }
}

/// What a worker keeps from block to block: the buffer fields are unescaped into, and the
/// parser (building its tables costs more than a small block).
pub struct Scratch {
    field: Vec<u8>,
    parser: Reader,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            field: Vec::new(),
            // Not `Reader::default()`: only the builder builds the parser's tables.
            parser: Reader::new(),
        }
    }
}

/// Copies the rest of a record from `pos` (after its last ruled field) in one piece when it
/// holds no quote, joining it to the untouched span before it; returns where the next record
/// starts, `None` when the rest must be parsed field by field, or the record's width and the
/// table's when they differ.
fn copy_tail(
    bytes: &[u8],
    pos: usize,
    rec: &mut Record,
    out: &mut Vec<u8>,
    width: usize,
) -> Result<Option<usize>, (usize, usize)> {
    let Some((end, fields)) = untouched_tail(&bytes[pos..]) else {
        return Ok(None);
    };
    let end = pos + end;
    let raw_end = end - usize::from(end > pos && bytes[end - 1] == b'\r');
    if rec.field + fields != width {
        return Err((rec.field + fields, width));
    }
    match rec.span {
        Some((sa, sb)) if sb + 1 == pos => rec.span = Some((sa, raw_end)),
        _ => {
            rec.flush(bytes, out);
            rec.next_out(out);
            rec.span = Some((pos, raw_end));
        }
    }
    rec.field = width;
    Ok(Some(end + 1))
}

/// Masks the records of `bytes` into `out` (cleared first); `ops` has one entry per column.
/// Line numbers in errors count from the block's first line.
pub fn mask_block<M: Masker>(
    m: &M,
    ops: &[Option<(&str, &Op)>],
    bytes: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) -> Result<Counts, MaskError> {
    let Scratch {
        field: scratch,
        parser: reader,
    } = scratch;
    reader.reset();
    out.clear();
    out.reserve(bytes.len() + bytes.len() / 8);
    if scratch.len() < 256 {
        scratch.resize(256, 0);
    }
    let reverse = m.reverse();
    // A record of one empty field is written `""`, as the csv crate does, so it is not a blank line.
    let kept = ops
        .iter()
        .filter(|op| reverse || !matches!(op, Some((_, Op::Redact))))
        .count();
    // Whether the parser has read part of the current record: records the fast paths read
    // whole never reach it, and one it must take over mid-record is first moved off the
    // record's start (a `,` ends an empty first field, the same state as after any field).
    let mut in_record = false;
    let mut pos = 0;
    let mut rows = 0;
    let mut rec = Record {
        span: None,
        written: 0,
        field: 0,
        out_start: out.len(),
    };
    let mut start = 0;
    let mut nout = 0;
    let mut record_start = 0;
    // Lines are counted only for an error message: the line a record starts on.
    let line_at = |at: usize| 1 + memchr::memchr_iter(b'\n', &bytes[..at]).count() as u64;
    // Fields after the last ruled one are copied in one piece.
    let last_ruled = ops.iter().rposition(Option::is_some).unwrap_or(0);
    loop {
        let fast = if nout == 0 && rec.field <= last_ruled {
            plain_field(&bytes[pos..])
        } else {
            None
        };
        let (value, a, b, record_end) = if let Some(len) = fast {
            // An unquoted field that ends in a delimiter: its bytes are its value, so the
            // parser is not needed (it is only moved off a record's start).
            if rec.field == 0 {
                record_start = pos;
            }
            let a = pos;
            pos += len + 1;
            (&bytes[a..a + len], a, a + len, false)
        } else {
            if rec.field > 0 && !in_record {
                let _ = reader.read_field(b",", &mut scratch[..]);
            }
            in_record = true;
            let (res, nin, n) = reader.read_field(&bytes[pos..], &mut scratch[nout..]);
            pos += nin;
            nout += n;
            let record_end = match res {
                ReadFieldResult::InputEmpty => continue,
                ReadFieldResult::OutputFull => {
                    let len = scratch.len() * 2;
                    scratch.resize(len, 0);
                    continue;
                }
                ReadFieldResult::End => break,
                ReadFieldResult::Field { record_end } => record_end,
            };
            // The field's raw bytes: without the line breaks skipped before a record, and
            // without the delimiter or terminator the parser took after it.
            let mut a = start;
            if rec.field == 0 {
                while a < pos && matches!(bytes[a], b'\n' | b'\r') {
                    a += 1;
                }
                record_start = a;
            }
            let mut b = pos;
            if b > a && matches!(bytes[b - 1], b',' | b'\n' | b'\r') {
                b -= 1;
            }
            (&scratch[..nout], a, b, record_end)
        };
        match ops.get(rec.field).copied().flatten() {
            _ if rec.field >= ops.len() => {}
            None => rec.untouched(a, b, bytes, out),
            Some((_, Op::Redact)) if !reverse => rec.flush(bytes, out),
            Some((column, op)) => {
                rec.flush(bytes, out);
                rec.next_out(out);
                mask_field(m, column, op, value, out)
                    .map_err(|e| at_line(e, line_at(record_start)))?;
            }
        }
        rec.field += 1;
        start = pos;
        nout = 0;
        if !record_end && rec.field > last_ruled {
            // No rule for the rest of the record: copy it without parsing it field by field.
            let Some(next) = copy_tail(bytes, pos, &mut rec, out, ops.len())
                .map_err(|(fields, width)| width_error(line_at(record_start), fields, width))?
            else {
                continue;
            };
            // The parser skipped the rest: end its record (if it started it).
            if in_record {
                let _ = reader.read_field(b"\n", &mut scratch[..]);
            }
            pos = next;
            start = pos;
        } else if !record_end {
            continue;
        }
        if rec.field != ops.len() {
            return Err(width_error(line_at(record_start), rec.field, ops.len()));
        }
        rec.flush(bytes, out);
        if kept == 1 && out.len() == rec.out_start {
            out.extend_from_slice(b"\"\"");
        }
        out.push(b'\n');
        rows += 1;
        in_record = false;
        rec = Record {
            span: None,
            written: 0,
            field: 0,
            out_start: out.len(),
        };
    }
    Ok(Counts {
        rows,
        lines: memchr::memchr_iter(b'\n', bytes).count() as u64,
    })
}

#[cfg(test)]
mod tests {
    use crate::{Format, Options, Rules, Table};
    use proptest::prelude::*;

    proptest! {
        /// Delimiters and carriage returns counted eight bytes at a time, as one by one.
        #[test]
        fn commas_and_returns_word_by_word(bytes in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..100)) {
            let want = (
                bytes.iter().filter(|&&b| b == b',').count(),
                bytes.contains(&b'\r'),
            );
            prop_assert_eq!(super::commas_and_returns(&bytes), want);
        }
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z ]{1,6}",
            Just("5'10\" tall".to_string()),
            Just("x\"y".to_string()),
            Just("\"\"".to_string()),
            "[a-z,\n\r ]{0,30}".prop_map(|s| format!("\"{s}\"")),
            "[a-z]{0,4}".prop_map(|s| format!("\"{s}\"\"q\"\"\"")),
            Just("\"a\"b".to_string()),
        ]
    }

    fn table() -> impl Strategy<Value = String> {
        let row = (field(), field(), field());
        (
            proptest::collection::vec(row, 0..40),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(rows, crlf, trailing)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut out = format!("a,b,c{eol}");
                for (i, (a, b, c)) in rows.iter().enumerate() {
                    out.push_str(&format!("{a},{b},{c}"));
                    if i + 1 < rows.len() || trailing {
                        out.push_str(eol);
                    }
                }
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Masking any table, on any threads and block size, with the rule on any column,
        /// keeps the rows of a whole-file parse: the untouched columns as they were, the
        /// ruled one replaced.
        #[test]
        fn masked_rows_match_the_whole_file_parse(
            text in table(),
            threads in 1usize..4,
            block in 1usize..200,
            ruled in 0usize..3,
        ) {
            let columns = ["a", "b", "c"];
            let rules = Rules::parse(
                "r.toml",
                &format!(
                    "format_version = 1\n[[rule]]\ncolumn = \"{}\"\nop = \"replace\"\nwith = \"X\"\n",
                    columns[ruled]
                ),
            )
            .unwrap();
            let options = Options { threads, chunk_bytes: block, ..Options::default() };
            let (out, summary) = crate::mask_bytes(
                &rules,
                None,
                std::path::Path::new("."),
                text.as_bytes(),
                Format::Csv,
                &options,
            )
            .unwrap();
            let before = Table::parse(text.as_bytes(), Format::Csv).unwrap();
            let after = Table::parse(&out, Format::Csv).unwrap();
            prop_assert_eq!(summary.rows as usize, before.rows.len());
            for (i, column) in columns.iter().enumerate() {
                if i == ruled {
                    prop_assert!(after.column(column).iter().all(|v| *v == Some("X")));
                } else {
                    prop_assert_eq!(before.column(column), after.column(column));
                }
            }
            prop_assert_eq!(after.rows.len(), before.rows.len());
        }
    }
}
