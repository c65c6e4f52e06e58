//! A whole table in memory: what `shuffle` and `[anonymity]` need (values move between rows,
//! class sizes are known only at the end), and what the grader and `mask analyze` read. CSV is
//! parsed with the `csv` crate (a leading UTF-8 byte order mark dropped), JSON Lines with
//! `serde_json` (top-level keys become columns, in first-seen order).

use std::collections::HashMap;
use std::io::Write;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value};

use super::MaskError;
use super::blocks::BOM;
use super::rules::{AnonymitySpec, Rule, Rules};
use super::stream::Format;

fn io(e: impl std::fmt::Display) -> MaskError {
    MaskError::Io(e.to_string())
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
                let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
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
pub(crate) fn shuffle(
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

pub(crate) fn suppress(
    table: &mut Table,
    a: &AnonymitySpec,
    file: &str,
) -> Result<(u64, u64), MaskError> {
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
