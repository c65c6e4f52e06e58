//! Parquet round trips: a file with typed, nullable, nested, dictionary and plain columns in
//! several row groups and two codecs, masked and read back value by value.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

use super::*;
use crate::Rules;
use crate::keys::tests::test_key;

const SCHEMA: &str = "message customers {
  required int64 id;
  optional binary email (STRING);
  optional binary city (STRING);
  optional int32 birth (DATE);
  optional double spend;
  required boolean active;
  optional binary notes (STRING);
  optional group address {
    optional binary zip (STRING);
  }
}";

/// Rows per row group: three row groups, the last one short.
const GROUPS: [usize; 3] = [700, 700, 300];

fn email(row: usize) -> Option<String> {
    // 40 customers over 1,700 rows: a dictionary-encoded column with repeats; every 9th null.
    (!row.is_multiple_of(9)).then(|| format!("User{}@Example.com", row % 40))
}

fn notes(row: usize) -> Option<String> {
    (!row.is_multiple_of(5)).then(|| format!("note {row} for {}", row * 7))
}

/// Writes the test file: email and notes with zstd, the rest snappy; notes plain, the rest
/// dictionary-encoded.
fn sample() -> Vec<u8> {
    let schema = Arc::new(parse_message_type(SCHEMA).unwrap());
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_column_compression(
            ColumnPath::from("email"),
            Compression::ZSTD(ZstdLevel::default()),
        )
        .set_column_compression(
            ColumnPath::from("notes"),
            Compression::ZSTD(ZstdLevel::default()),
        )
        .set_column_dictionary_enabled(ColumnPath::from("notes"), false)
        .build();
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, Arc::new(props)).unwrap();
    let mut start = 0;
    for n in GROUPS {
        let rows: Vec<usize> = (start..start + n).collect();
        start += n;
        let mut g = w.next_row_group().unwrap();
        let strings = |f: &dyn Fn(usize) -> Option<String>| {
            let vals: Vec<ByteArray> = rows
                .iter()
                .filter_map(|r| f(*r).map(|s| ByteArray::from(s.into_bytes())))
                .collect();
            let def: Vec<i16> = rows.iter().map(|r| i16::from(f(*r).is_some())).collect();
            (vals, def)
        };
        // id
        let mut c = g.next_column().unwrap().unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| *r as i64 + 1).collect();
        c.typed::<Int64Type>()
            .write_batch(&ids, None, None)
            .unwrap();
        c.close().unwrap();
        // email, city
        for f in [&email as &dyn Fn(usize) -> Option<String>, &|r| {
            (r % 3 != 1).then(|| ["Oslo", "Lima", "Pune"][r % 3].to_string())
        }] {
            let (vals, def) = strings(f);
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<ByteArrayType>()
                .write_batch(&vals, Some(&def), None)
                .unwrap();
            c.close().unwrap();
        }
        // birth: days since the epoch, every 4th null
        let mut c = g.next_column().unwrap().unwrap();
        let births: Vec<i32> = rows
            .iter()
            .filter(|r| *r % 4 != 0)
            .map(|r| 3000 + *r as i32)
            .collect();
        let def: Vec<i16> = rows.iter().map(|r| i16::from(r % 4 != 0)).collect();
        c.typed::<Int32Type>()
            .write_batch(&births, Some(&def), None)
            .unwrap();
        c.close().unwrap();
        // spend
        let mut c = g.next_column().unwrap().unwrap();
        let spend: Vec<f64> = rows.iter().map(|r| *r as f64 * 1.5).collect();
        c.typed::<DoubleType>()
            .write_batch(&spend, Some(&vec![1; rows.len()]), None)
            .unwrap();
        c.close().unwrap();
        // active
        let mut c = g.next_column().unwrap().unwrap();
        let active: Vec<bool> = rows.iter().map(|r| r % 2 == 0).collect();
        c.typed::<BoolType>()
            .write_batch(&active, None, None)
            .unwrap();
        c.close().unwrap();
        // notes
        let (vals, def) = strings(&notes);
        let mut c = g.next_column().unwrap().unwrap();
        c.typed::<ByteArrayType>()
            .write_batch(&vals, Some(&def), None)
            .unwrap();
        c.close().unwrap();
        // address.zip: the group null every 7th row, the zip null every 11th
        let mut c = g.next_column().unwrap().unwrap();
        let zips: Vec<ByteArray> = rows
            .iter()
            .filter(|r| *r % 7 != 0 && *r % 11 != 0)
            .map(|r| ByteArray::from(format!("94{:03}", r % 1000).into_bytes()))
            .collect();
        let def: Vec<i16> = rows
            .iter()
            .map(|r| match (r % 7, r % 11) {
                (0, _) => 0,
                (_, 0) => 1,
                _ => 2,
            })
            .collect();
        c.typed::<ByteArrayType>()
            .write_batch(&zips, Some(&def), None)
            .unwrap();
        c.close().unwrap();
        g.close().unwrap();
    }
    w.close().unwrap();
    out
}

const RULES: &str = r#"format_version = 1
[key]
source = "env:UNUSED"
[[rule]]
column = "email"
op = "hmac_token"
normalize = "email"
[[rule]]
column = "birth"
op = "generalize"
to = "year"
[[rule]]
column = "spend"
op = "null"
[[rule]]
column = "notes"
op = "mask"
keep_last = 3
[[rule]]
column = "address.zip"
op = "generalize"
keep_digits = 3
"#;

fn rows(bytes: &[u8]) -> Vec<Vec<(String, Field)>> {
    let reader = SerializedFileReader::new(Bytes::copy_from_slice(bytes)).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| {
            r.unwrap()
                .get_column_iter()
                .map(|(n, f)| (n.clone(), f.clone()))
                .collect()
        })
        .collect()
}

fn get<'a>(row: &'a [(String, Field)], name: &str) -> &'a Field {
    &row.iter().find(|(n, _)| n == name).unwrap().1
}

fn string(f: &Field) -> Option<String> {
    match f {
        Field::Null => None,
        Field::Str(s) => Some(s.clone()),
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn masks_a_parquet_file_keeping_types_nulls_codecs_and_row_groups() {
    let input = sample();
    let rules = Rules::parse("r.toml", RULES).unwrap();
    let key = test_key(9);
    let plan = Plan::new(&rules, Some(&key), Path::new(".")).unwrap();
    let options = Options {
        threads: 2,
        ..Options::default()
    };
    let (out, summary) = mask_bytes(&rules, &plan, &input, &options).unwrap();
    assert_eq!(summary.rows, 1700);
    assert_eq!(summary.retyped, vec!["birth".to_string()]);

    // Layout: the same row groups; each column keeps its codec; masked columns that were
    // dictionary-encoded still are.
    let before = SerializedFileReader::new(Bytes::from(input.clone())).unwrap();
    let after = SerializedFileReader::new(Bytes::from(out.clone())).unwrap();
    let (bm, am) = (before.metadata(), after.metadata());
    assert_eq!(am.num_row_groups(), 3);
    for (g, rows) in GROUPS.iter().enumerate() {
        let (b, a) = (bm.row_group(g), am.row_group(g));
        assert_eq!(a.num_rows(), *rows as i64);
        for i in 0..a.num_columns() {
            assert_eq!(a.column(i).compression(), b.column(i).compression(), "{i}");
        }
        assert!(a.column(1).dictionary_page_offset().is_some());
        assert_eq!(
            a.column(1).compression(),
            Compression::ZSTD(ZstdLevel::default())
        );
        // The masked column's statistics are of the tokens, never of the addresses.
        let stats = format!("{:?}", a.column(1).statistics());
        assert!(!stats.contains("Example"), "{stats}");
    }
    // Types: birth became a string, spend stayed a double; the rest as they were.
    let schema = am.file_metadata().schema_descr();
    let column = |name: &str| {
        schema
            .columns()
            .iter()
            .find(|c| c.path().string() == name)
            .unwrap()
            .clone()
    };
    assert_eq!(column("birth").physical_type(), Physical::BYTE_ARRAY);
    assert_eq!(
        column("birth").logical_type_ref(),
        Some(&LogicalType::String)
    );
    assert_eq!(column("spend").physical_type(), Physical::DOUBLE);
    assert_eq!(column("id").physical_type(), Physical::INT64);
    assert_eq!(
        column("id").self_type().get_basic_info().repetition(),
        Repetition::REQUIRED
    );
    assert_eq!(column("address.zip").max_def_level(), 2);

    // Values, row by row.
    let email_op = plan.op("email").unwrap();
    for (r, (b, a)) in rows(&input).iter().zip(rows(&out)).enumerate() {
        for untouched in ["id", "city", "active"] {
            assert_eq!(get(b, untouched), get(&a, untouched), "row {r} {untouched}");
        }
        let token = email(r).map(|e| email_op.apply(&e).unwrap().unwrap());
        assert_eq!(string(get(&a, "email")), token, "row {r}");
        assert_eq!(get(&a, "spend"), &Field::Null);
        let year = (r % 4 != 0).then(|| civil(3000 + r as i64)[..4].to_string());
        assert_eq!(string(get(&a, "birth")), year, "row {r}");
        let note = notes(r).map(|n| {
            let keep = n.len() - 3;
            format!("{}{}", "*".repeat(keep), &n[keep..])
        });
        assert_eq!(string(get(&a, "notes")), note, "row {r}");
        let zip = match get(&a, "address") {
            Field::Null => None,
            Field::Group(g) => Some(string(&g.get_column_iter().next().unwrap().1.clone())),
            other => panic!("{other:?}"),
        };
        let want = match (r % 7, r % 11) {
            (0, _) => None,
            (_, 0) => Some(None),
            _ => Some(Some(format!("94{}**", (r % 1000) / 100))),
        };
        assert_eq!(zip, want, "row {r}");
    }

    // One thread gives the same bytes as two.
    let single = Options {
        threads: 1,
        ..Options::default()
    };
    assert_eq!(mask_bytes(&rules, &plan, &input, &single).unwrap().0, out);
    // Row groups masked straight into the output, none held in memory: the same bytes.
    for threads in [1, 3] {
        let streamed = Options {
            threads,
            held_bytes: 0,
            ..Options::default()
        };
        assert_eq!(mask_bytes(&rules, &plan, &input, &streamed).unwrap().0, out);
    }
}

#[test]
fn redact_drops_the_column_and_fail_closed_rules_hold() {
    let input = sample();
    let key = test_key(9);
    let parse = |text: &str| Rules::parse("r.toml", text).unwrap();
    let rules = parse(
        "format_version = 1\n[[rule]]\ncolumn = \"email\"\nop = \"redact\"\n[[rule]]\ncolumn = \"address.zip\"\nop = \"redact\"\n",
    );
    let plan = Plan::new(&rules, Some(&key), Path::new(".")).unwrap();
    let (out, _) = mask_bytes(&rules, &plan, &input, &Options::default()).unwrap();
    let after = SerializedFileReader::new(Bytes::from(out.clone())).unwrap();
    let names: Vec<String> = after
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.path().string())
        .collect();
    assert_eq!(names, ["id", "city", "birth", "spend", "active", "notes"]);
    assert_eq!(rows(&out).len(), 1700);
    assert!(!String::from_utf8_lossy(&out).contains("Example.com"));

    // A near miss and a missing column fail before anything is written.
    let rules = parse("format_version = 1\n[[rule]]\ncolumn = \"Email\"\nop = \"redact\"\n");
    let plan = Plan::new(&rules, Some(&key), Path::new(".")).unwrap();
    let e = mask_bytes(&rules, &plan, &input, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("'Email'") && e.contains("'email'"), "{e}");
    let rules = parse("format_version = 1\n[[rule]]\ncolumn = \"zip\"\nop = \"redact\"\n");
    let plan = Plan::new(&rules, Some(&key), Path::new(".")).unwrap();
    let e = mask_bytes(&rules, &plan, &input, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("'zip'") && e.contains("address.zip"), "{e}");
    // null on a required column is refused with the fix.
    let rules = parse("format_version = 1\n[[rule]]\ncolumn = \"id\"\nop = \"null\"\n");
    let plan = Plan::new(&rules, Some(&key), Path::new(".")).unwrap();
    let e = mask_bytes(&rules, &plan, &input, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not optional") && e.contains("redact"), "{e}");
    // Not Parquet at all.
    let e = mask_bytes(&rules, &plan, b"a,b\n1,2\n", &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a readable Parquet file"), "{e}");
}

#[test]
fn salted_password_hashes_are_not_shared_between_equal_values() {
    // Dictionary chunks remember masked values, except for salted hashes: two rows with the
    // same password must not get the same hash.
    let mut input = Vec::new();
    from_csv(
        &b"user,password\na,hunter2\nb,hunter2\nc,hunter2\nd,abc\n"[..],
        &mut input,
        10,
    )
    .unwrap();
    let meta = SerializedFileReader::new(Bytes::from(input.clone())).unwrap();
    assert!(
        meta.metadata()
            .row_group(0)
            .column(1)
            .dictionary_page_offset()
            .is_some()
    );
    let rules = Rules::parse(
        "r.toml",
        "format_version = 1\n[[rule]]\ncolumn = \"password\"\nop = \"password_hash\"\n",
    )
    .unwrap();
    let plan = Plan::new(&rules, None, Path::new(".")).unwrap();
    let (out, _) = mask_bytes(&rules, &plan, &input, &Options::default()).unwrap();
    let hashes: Vec<String> = rows(&out)
        .iter()
        .filter_map(|r| string(get(r, "password")))
        .collect();
    let distinct: std::collections::HashSet<&String> = hashes.iter().collect();
    assert_eq!(hashes.len(), 4);
    assert_eq!(distinct.len(), 4);
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$")));
}

#[test]
fn csv_converts_to_dictionary_encoded_parquet() {
    let csv = crate::generate::table("customers", 500, 4).unwrap();
    let mut out = Vec::new();
    from_csv(csv.as_bytes(), &mut out, 200).unwrap();
    let reader = SerializedFileReader::new(Bytes::from(out.clone())).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), 3);
    assert!(
        reader
            .metadata()
            .row_group(0)
            .column(2)
            .dictionary_page_offset()
            .is_some()
    );
    let table = crate::Table::parse(csv.as_bytes(), crate::Format::Csv).unwrap();
    let got = rows(&out);
    assert_eq!(got.len(), 500);
    for (want, row) in table.rows.iter().zip(&got) {
        for (c, v) in table.columns.iter().zip(want) {
            assert_eq!(string(get(row, c)), v.clone());
        }
    }
}
