//! CSV tables to and from Parquet. [`from_csv`] writes a CSV table as Parquet (for `keylab
//! mask generate`, the console and the benchmark). [`to_csv`] reads a Parquet file back as a CSV
//! table, row by row through the `parquet` crate's record API, for the grader: it checks a learner's masked Parquet output with the same searches it
//! runs on CSV (every value as text: strings as they are, nulls empty, numbers, dates and
//! nested groups as the crate prints them). The whole table is held in memory, so it is meant
//! for the lab's tables, not for lakes; masking itself streams ([`crate::columnar`]).

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::MaskError;

fn pq(what: &str) -> impl Fn(ParquetError) -> MaskError + '_ {
    move |e| MaskError::Io(format!("Parquet {what}: {e}"))
}

/// Writes a CSV table (with a header) as Parquet: every column an optional UTF-8 string,
/// dictionary-encoded (dictionaries up to 16 MiB per column chunk) and compressed with snappy,
/// `rows_per_group` rows per row group. For `keylab mask generate` and the benchmark.
pub fn from_csv<R: std::io::Read, W: Write + Send>(
    csv: R,
    out: W,
    rows_per_group: usize,
) -> Result<(), MaskError> {
    let mut reader = csv::Reader::from_reader(csv);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| MaskError::Io(format!("CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let fields = header
        .iter()
        .map(|h| {
            Type::primitive_type_builder(h, Physical::BYTE_ARRAY)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(Some(LogicalType::String))
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(pq("schema"))?;
    let schema = Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
        .map_err(pq("schema"))?;
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_dictionary_page_size_limit(16 << 20)
        .set_created_by(format!("keylab mask {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer =
        SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props)).map_err(pq("writer"))?;
    let mut columns: Vec<Vec<ByteArray>> = vec![Vec::new(); header.len()];
    let mut flush = |columns: &mut Vec<Vec<ByteArray>>| -> Result<(), MaskError> {
        if columns.first().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        let mut group = writer.next_row_group().map_err(pq("writer"))?;
        for values in columns.iter_mut() {
            let mut cw = group
                .next_column()
                .map_err(pq("writer"))?
                .ok_or_else(|| MaskError::Io("Parquet writer: out of columns".into()))?;
            let def = vec![1i16; values.len()];
            cw.typed::<ByteArrayType>()
                .write_batch(values, Some(&def), None)
                .map_err(pq("write"))?;
            cw.close().map_err(pq("writer"))?;
            values.clear();
        }
        group.close().map_err(pq("writer"))?;
        Ok(())
    };
    for record in reader.byte_records() {
        let record = record.map_err(|e| MaskError::Io(format!("CSV: {e}")))?;
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            column.push(ByteArray::from(field.to_vec()));
        }
        if columns[0].len() >= rows_per_group.max(1) {
            flush(&mut columns)?;
        }
    }
    flush(&mut columns)?;
    writer.close().map_err(pq("writer"))?;
    Ok(())
}

/// The most rows read back.
pub const MAX_ROWS: usize = 1_000_000;

fn text(field: &Field) -> String {
    match field {
        Field::Null => String::new(),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8_lossy(b.data()).into_owned(),
        other => other.to_string(),
    }
}

/// The rows of a Parquet file as CSV with a header of its top-level column names.
pub fn to_csv(parquet: Bytes) -> Result<Vec<u8>, MaskError> {
    let reader = SerializedFileReader::new(parquet)
        .map_err(|e| MaskError::Io(format!("not a Parquet file: {e}")))?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&names)
        .map_err(|e| MaskError::Io(e.to_string()))?;
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| MaskError::Io(format!("Parquet rows: {e}")))?;
    for (n, row) in rows.enumerate() {
        if n >= MAX_ROWS {
            return Err(MaskError::Io(format!(
                "the Parquet file has more than {MAX_ROWS} rows"
            )));
        }
        let row = row.map_err(|e| MaskError::Io(format!("Parquet row {n}: {e}")))?;
        let values: Vec<String> = row.get_column_iter().map(|(_, f)| text(f)).collect();
        out.write_record(&values)
            .map_err(|e| MaskError::Io(e.to_string()))?;
    }
    out.into_inner().map_err(|e| MaskError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_table_reads_back_as_the_csv_it_came_from() {
        let csv = crate::generate::table("customers", 50, 3).unwrap();
        let mut parquet = Vec::new();
        crate::columnar::from_csv(csv.as_bytes(), &mut parquet, 16).unwrap();
        let back = to_csv(Bytes::from(parquet)).unwrap();
        let parse = |b: &[u8]| {
            csv::Reader::from_reader(b)
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(parse(&back), parse(csv.as_bytes()));
        assert!(to_csv(Bytes::from_static(b"not parquet")).is_err());
    }
}
