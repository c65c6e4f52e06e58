//! A Parquet file read back as a CSV table, row by row through the `parquet` crate's record
//! API, for the grader: it checks a learner's masked Parquet output with the same searches it
//! runs on CSV (every value as text: strings as they are, nulls empty, numbers, dates and
//! nested groups as the crate prints them). The whole table is held in memory, so it is meant
//! for the lab's tables, not for lakes; masking itself streams ([`crate::columnar`]).

use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::MaskError;

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
