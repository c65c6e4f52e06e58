//! Cutting CSV input into blocks of whole records, so worker threads can parse the blocks
//! independently and the output keeps every record whole. A cut goes just after a line feed
//! that ends a record, found by following the quoting exactly as the `csv` crate's parser
//! (csv-core with its defaults: `,`, `"`, doubled quotes, no escape character, no comments)
//! reads it: a `"` opens a quoted field only at a field's start (the first byte of a record, or
//! right after `,`, `\r` or `\n` outside quotes), inside a quoted field `""` is a literal quote
//! and any other `"` closes the field, and a `"` anywhere else (`5'10" tall`) is a literal
//! character. Why not csv-core itself here: it would run every byte through its state machine
//! on the one reading thread before the workers parse the block again; this scan only stops at
//! quotes, and at the first line feed after each cut's target (`memchr`), so the reading
//! thread stays at memory speed. The tests check it against the `csv` crate's whole-file
//! parse and the cuts against visiting every record end (property tests), and the
//! integration tests against Python's `csv` module.
//!
//! Limits: a record longer than [`Options::max_record_bytes`](crate::Options) is an error naming
//! the line it starts on, so one stray quote cannot make a run buffer the whole file; a file
//! whose records end in a lone `\r` (classic Mac OS) has no cut points and hits that limit.

use std::io::Read;

use super::MaskError;

/// The UTF-8 byte order mark, dropped from the start of CSV input.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The ends of the whole records in `buf`, which must start at a record's start: the offset
/// just after each line feed outside a quoted field.
pub fn record_ends(buf: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut quoted = false;
    // A doubled quote inside a quoted field: its second quote is skipped.
    let mut skip = 0;
    memchr::memchr2_iter(b'"', b'\n', buf).filter_map(move |i| {
        if i < skip {
            return None;
        }
        if buf[i] == b'\n' {
            return (!quoted).then_some(i + 1);
        }
        if quoted {
            if buf.get(i + 1) == Some(&b'"') {
                skip = i + 2;
            } else {
                quoted = false;
            }
            return None;
        }
        quoted = i == 0 || matches!(buf[i - 1], b',' | b'\n' | b'\r');
        None
    })
}

/// The stretches of `buf` (which starts at a record's start) outside quoted fields, in
/// order: every line feed inside one ends a record, and no other does. Only quotes are
/// visited (following the quoting as [`record_ends`] does), so a file with few quotes is
/// crossed at memory speed instead of stopping at every line.
fn unquoted_runs(buf: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut quoted = false;
    let mut skip = 0;
    let mut run = 0;
    let mut quotes = memchr::memchr_iter(b'"', buf);
    let mut done = false;
    std::iter::from_fn(move || {
        for i in quotes.by_ref() {
            if i < skip {
                continue;
            }
            if quoted {
                if buf.get(i + 1) == Some(&b'"') {
                    skip = i + 2;
                } else {
                    quoted = false;
                    run = i + 1;
                }
            } else if i == 0 || matches!(buf[i - 1], b',' | b'\n' | b'\r') {
                quoted = true;
                return Some((run, i));
            }
        }
        if done || quoted {
            return None;
        }
        done = true;
        Some((run, buf.len()))
    })
}

/// Record ends that cut `buf` into about `parts` pieces; the last one is the end of the last
/// complete record. Cut `k` is the first record end at or after `k/parts` of the buffer (and
/// after cut `k - 1`), as if every record end were visited in order.
pub fn split_points(buf: &[u8], parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    let mut ends: Vec<usize> = Vec::with_capacity(parts);
    let mut last = None;
    for (a, b) in unquoted_runs(buf) {
        while ends.len() + 1 < parts {
            let target = buf.len() * (ends.len() + 1) / parts;
            // A line feed at `i` ends a record at `i + 1`.
            let from = a
                .max(target.saturating_sub(1))
                .max(ends.last().copied().unwrap_or(0));
            match buf.get(from..b).and_then(|s| memchr::memchr(b'\n', s)) {
                Some(j) => ends.push(from + j + 1),
                None => break,
            }
        }
        if let Some(j) = memchr::memrchr(b'\n', &buf[a..b]) {
            last = Some(a + j + 1);
        }
    }
    if let Some(last) = last
        && ends.last() != Some(&last)
    {
        ends.push(last);
    }
    ends
}

/// Whole records read from the input, cut into one block per worker.
pub struct Wave {
    /// The bytes: whole records up to the last end, then the start of the next record.
    pub buf: Vec<u8>,
    /// The end of each block.
    pub ends: Vec<usize>,
}

impl Wave {
    /// The blocks, in input order.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.buf[a..b])
    }

    /// The bytes after the last whole record, at the front of the same buffer (the start of
    /// the next wave, without a new allocation).
    pub fn into_carry(mut self) -> Vec<u8> {
        self.buf.drain(..*self.ends.last().unwrap_or(&0));
        self.buf
    }
}

/// Reads from a CSV input in waves of whole records, with a bound on one record's size.
pub struct WaveReader<R> {
    input: R,
    eof: bool,
    /// Bytes per wave.
    pub want: usize,
    /// Blocks per wave.
    pub parts: usize,
    /// The longest record accepted.
    pub max_record: usize,
}

impl<R: Read> WaveReader<R> {
    /// A reader of waves of about `want` bytes in `parts` blocks.
    pub fn new(input: R, want: usize, parts: usize, max_record: usize) -> WaveReader<R> {
        WaveReader {
            input,
            eof: false,
            want: want.max(1),
            parts: parts.max(1),
            max_record: max_record.max(1),
        }
    }

    /// Appends up to `n` bytes; notes the end of the input. Reads straight into `buf` in
    /// calls of the whole size, so a buffered input of a smaller buffer passes them through
    /// instead of copying them.
    fn fill(&mut self, buf: &mut Vec<u8>, n: usize) -> Result<(), MaskError> {
        let start = buf.len();
        buf.resize(start + n, 0);
        let mut got = 0;
        while got < n {
            match self.input.read(&mut buf[start + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(start + got);
                    return Err(MaskError::Io(format!("cannot read the input: {e}")));
                }
            }
        }
        buf.truncate(start + got);
        Ok(())
    }

    /// Reads until the first record (the header) is whole, and returns its end (the whole
    /// buffer at the end of the input); `buf` is empty or holds the start of the input.
    /// A UTF-8 byte order mark at the start is dropped.
    pub fn first_record(&mut self, buf: &mut Vec<u8>) -> Result<usize, MaskError> {
        while buf.len() < BOM.len() && !self.eof {
            self.fill(buf, 4096)?;
        }
        if buf.starts_with(BOM) {
            buf.drain(..BOM.len());
        }
        loop {
            if let Some(end) = record_ends(buf).next() {
                return Ok(end);
            }
            if self.eof {
                return Ok(buf.len());
            }
            self.too_long(buf.len(), 1)?;
            let n = self.want.max(4096);
            self.fill(buf, n)?;
        }
    }

    fn too_long(&self, len: usize, line: u64) -> Result<(), MaskError> {
        if len <= self.max_record {
            return Ok(());
        }
        Err(MaskError::Value {
            line,
            column: String::new(),
            message: format!(
                "the CSV record starting on this line is longer than {} bytes: a quote that is never closed makes the rest of the file one field (look for a stray `\"` at the start of a field on this line), or the record is really that long (raise --max-record-bytes)",
                self.max_record
            ),
        })
    }

    /// Reads until about `want` bytes of whole records (or the end) follow `carry`, and cuts
    /// them into blocks; `None` when the input is done. `line` is the line `carry` starts on,
    /// for the error about a record over the limit.
    pub fn next_wave(&mut self, mut buf: Vec<u8>, line: u64) -> Result<Option<Wave>, MaskError> {
        loop {
            while !self.eof && buf.len() < self.want {
                let n = self.want - buf.len();
                self.fill(&mut buf, n.max(4096))?;
            }
            if buf.is_empty() {
                return Ok(None);
            }
            let mut ends = split_points(&buf, self.parts);
            let last = ends.last().copied().unwrap_or(0);
            if self.eof && last != buf.len() {
                // The last record has no line feed after it.
                let at = line + memchr::memchr_iter(b'\n', &buf[..last]).count() as u64;
                self.too_long(buf.len() - last, at)?;
                ends.push(buf.len());
            }
            if !ends.is_empty() {
                return Ok(Some(Wave { buf, ends }));
            }
            // The buffer is one record so far: read more, within the limit.
            self.too_long(buf.len(), line)?;
            let more = buf.len().min(self.max_record + 1 - buf.len()).max(4096);
            self.fill(&mut buf, more)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records_end_at_newlines_outside_quotes() {
        let csv = b"a,\"x\ny\"\nb,\"say \"\"hi\"\"\n\"\nc,d\n";
        assert_eq!(record_ends(csv).collect::<Vec<_>>(), [8, 24, 28]);
        assert_eq!(split_points(csv, 2), [24, 28]);
        // A quote inside an unquoted field is a literal: the line feed after it ends a record.
        let csv = b"5'10\" tall,x\n\"a\nb\",c\n";
        assert_eq!(record_ends(csv).collect::<Vec<_>>(), [13, 21]);
        // After a closing quote, a quote is a literal too (`"a"x"` is the field `ax"`).
        let csv = b"\"a\"x\",y\nz\n";
        assert_eq!(record_ends(csv).collect::<Vec<_>>(), [8, 10]);
    }

    #[test]
    fn a_stray_quote_stops_at_the_record_limit_with_its_line() {
        let mut text = b"h\nok\nok\n\"never closed\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 100_000));
        let mut reader = WaveReader::new(&text[..], 64, 1, 10_000);
        let mut carry = Vec::new();
        let header = reader.first_record(&mut carry).unwrap();
        carry.drain(..header);
        let mut line = 2;
        let e = loop {
            match reader.next_wave(carry, line) {
                Ok(Some(w)) => {
                    line += w
                        .chunks()
                        .map(|c| memchr::memchr_iter(b'\n', c).count() as u64)
                        .sum::<u64>();
                    carry = w.into_carry();
                }
                Ok(None) => panic!("the limit was not enforced"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(
            e.contains("input line 4") && e.contains("10000 bytes"),
            "{e}"
        );
    }

    /// Parses with the `csv` crate as the workers do.
    fn parse(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect()
    }

    fn csv_text() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"a"[..]),
            Just(&b"bc"[..]),
            Just(&b","[..]),
            Just(&b"\""[..]),
            Just(&b"\"\""[..]),
            Just(&b"\n"[..]),
            Just(&b"\r\n"[..]),
            Just(&b"\r"[..]),
            Just(&b" "[..]),
            Just(&b",\""[..]),
            Just(&b"\"\n"[..]),
        ];
        proptest::collection::vec(piece, 0..80).prop_map(|p| p.concat())
    }

    /// The cuts as first written: every record end visited in order.
    fn split_points_by_every_end(buf: &[u8], parts: usize) -> Vec<usize> {
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

    #[test]
    fn cuts_skip_to_their_targets() {
        let csv = b"a,b\nc,\"d\ne\"\nf,g\nh";
        assert_eq!(split_points(csv, 1), [16]);
        assert_eq!(split_points(csv, 2), [12, 16]);
        assert_eq!(split_points(csv, 5), [4, 12, 16]);
        assert_eq!(
            split_points(b"\"open\nnever closed\n", 2),
            Vec::<usize>::new()
        );
        assert_eq!(split_points(b"", 3), Vec::<usize>::new());
        assert_eq!(split_points(b"\n\n\n", 8), [1, 2, 3]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The cuts that skip from target to target are those of visiting every record end.
        #[test]
        fn split_points_match_visiting_every_end(text in csv_text(), parts in 1usize..9) {
            prop_assert_eq!(
                split_points(&text, parts),
                split_points_by_every_end(&text, parts)
            );
            let ends: Vec<usize> = unquoted_runs(&text)
                .flat_map(|(a, b)| {
                    memchr::memchr_iter(b'\n', &text[a..b]).map(move |j| a + j + 1)
                })
                .collect();
            prop_assert_eq!(ends, record_ends(&text).collect::<Vec<_>>());
        }

        /// Cutting at any of the record ends and parsing the pieces one by one gives the
        /// records of the whole-file parse, in order.
        #[test]
        fn cuts_fall_where_the_whole_file_parse_starts_a_record(
            text in csv_text(),
            picks in proptest::collection::vec(any::<bool>(), 80),
        ) {
            let whole = parse(&text);
            let ends: Vec<usize> = record_ends(&text).collect();
            let mut cuts: Vec<usize> = ends.iter().zip(picks.iter().cycle()).filter(|(_, p)| **p).map(|(e, _)| *e).collect();
            cuts.push(text.len());
            let mut pieces = Vec::new();
            let mut start = 0;
            for cut in cuts {
                pieces.extend(parse(&text[start..cut]));
                start = cut;
            }
            prop_assert_eq!(pieces, whole);
            // Every end is just after a line feed, and cutting at all of them at once gives
            // the same records too.
            let mut start = 0;
            let mut all = Vec::new();
            for &end in &ends {
                prop_assert_eq!(text[end - 1], b'\n');
                all.extend(parse(&text[start..end]));
                start = end;
            }
            all.extend(parse(&text[start..]));
            prop_assert_eq!(all, parse(&text));
        }
    }
}
