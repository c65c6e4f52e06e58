//! Masking, pseudonymisation and anonymisation of tables (CSV, JSON Lines, Parquet), for the course's
//! last lesson and as a tool in its own right. Three families, kept apart as the lesson keeps
//! them: irreversible masking (redact, null, replace, mask, generalize, round, shuffle),
//! pseudonyms that keep joins (HMAC tokens, AES-SIV, FF1 format-preserving encryption) and
//! table-level anonymity (k-anonymity with suppression, measured by [`analyze`]). Password
//! columns get Argon2id with a salt per row; free text is scanned for entities.
//!
//! [`rules`] parses the TOML rules, [`keys`] finds the master key (never in the rules; a rule
//! that needs one and has none is an error), [`ops`] compiles rules into operations,
//! [`stream`] applies them row batch by row batch on all cores ([`columnar`] does Parquet
//! row group by row group), [`generate`] makes seeded
//! synthetic data and [`attack`] holds the grader's leak search and dictionary battery. This
//! module knows nothing of backends: a `kms:` key is decrypted by the caller.

pub mod analyze;
pub mod attack;
pub mod blocks;
mod chunk_io;
pub mod columnar;
pub mod columns;
pub mod csv_block;
pub mod ff1;
pub mod generate;
pub mod keys;
pub mod ops;
pub mod parquet_rows;
pub mod rules;
pub mod scan;
pub mod stream;
pub mod table;
pub mod toml_lines;

use std::path::Path;

pub use self::keys::{KeySource, Loaded, MasterKey};
pub use self::ops::Plan;
pub use self::rules::Rules;
pub use self::stream::{Format, Options, Summary, Table};

/// A masking failure, naming the file, line, row or column.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MaskError {
    /// The rules file is wrong.
    #[error("{file}{}: {message}{}", line.map(|l| format!(":{l}")).unwrap_or_default(), if fix.is_empty() { String::new() } else { format!(" (fix: {fix})") })]
    Rules {
        /// The file.
        file: String,
        /// The line.
        line: Option<usize>,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// The key is missing or unusable.
    #[error("{0}")]
    Key(String),
    /// A value could not be masked.
    #[error("input line {line}{}: {message}", if column.is_empty() { String::new() } else { format!(", column '{column}'") })]
    Value {
        /// The input line.
        line: u64,
        /// The column.
        column: String,
        /// What went wrong.
        message: String,
    },
    /// A Parquet value could not be masked.
    #[error("Parquet row group {group}, column '{column}': {message}")]
    Row {
        /// The row group (from 0).
        group: usize,
        /// The column.
        column: String,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
}

/// Masks an in-memory table with rules and a key (for the grader and the console).
pub fn mask_bytes(
    rules: &Rules,
    key: Option<&MasterKey>,
    base: &Path,
    input: &[u8],
    format: Format,
    options: &Options,
) -> Result<(Vec<u8>, Summary), MaskError> {
    let plan = Plan::new(rules, key, base)?;
    let mut out = Vec::with_capacity(input.len());
    let summary = stream::run(rules, &plan, input, &mut out, format, options)?;
    Ok((out, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
format_version = 1
[key]
source = "env:UNUSED"

[[rule]]
column = "name"
op = "redact"

[[rule]]
column = "email"
op = "hmac_token"
domain = "customer"
normalize = "email"

[[rule]]
column = "ssn"
op = "mask"
keep_last = 4
ignore = "-"

[[rule]]
column = "card_number"
op = "fpe"
keep_prefix = 6
keep_suffix = 4
luhn = true

[[rule]]
column = "notes"
op = "scan_replace"
"#;

    #[test]
    fn masks_a_generated_table_end_to_end() {
        let rules = Rules::parse("rules.toml", RULES).unwrap();
        let key = crate::keys::tests::test_key(5);
        let input = generate::table("customers", 300, 11).unwrap();
        let options = Options {
            threads: 2,
            batch_rows: 64,
            chunk_bytes: 4096,
            ..Options::default()
        };
        let (out, summary) = mask_bytes(
            &rules,
            Some(&key),
            Path::new("."),
            input.as_bytes(),
            Format::Csv,
            &options,
        )
        .unwrap();
        assert_eq!(summary.rows, 300);
        let original = Table::parse(input.as_bytes(), Format::Csv).unwrap();
        let masked = Table::parse(&out, Format::Csv).unwrap();
        assert!(masked.index("name").is_none());
        let sensitive: Vec<String> = ["name", "email", "ssn", "card_number"]
            .iter()
            .flat_map(|c| original.column(c))
            .flatten()
            .map(str::to_string)
            .collect();
        assert_eq!(attack::leaks(&sensitive, &out), Vec::<String>::new());
        // Same rows in the same order, one thread or two.
        let single = Options {
            threads: 1,
            ..options.clone()
        };
        let (again, _) = mask_bytes(
            &rules,
            Some(&key),
            Path::new("."),
            input.as_bytes(),
            Format::Csv,
            &single,
        )
        .unwrap();
        assert_eq!(again, out);
        // Reverse gives the card numbers back.
        let reverse = Options {
            reverse: true,
            ..options
        };
        let (back, _) = mask_bytes(
            &rules,
            Some(&key),
            Path::new("."),
            &out,
            Format::Csv,
            &reverse,
        )
        .unwrap();
        let back = Table::parse(&back, Format::Csv).unwrap();
        assert_eq!(back.column("card_number"), original.column("card_number"));
    }

    #[test]
    fn json_lines_and_errors_name_the_line() {
        let rules = Rules::parse(
            "r.toml",
            "format_version = 1\n[[rule]]\ncolumn = \"zip\"\nop = \"generalize\"\nkeep_digits = 3\n[[rule]]\ncolumn = \"dob\"\nop = \"generalize\"\nto = \"year\"\n",
        )
        .unwrap();
        let input =
            b"{\"zip\":\"94107\",\"dob\":\"1984-05-02\",\"n\":1}\n\n{\"zip\":94110,\"dob\":null}\n";
        let (out, _) = mask_bytes(
            &rules,
            None,
            Path::new("."),
            input,
            Format::Jsonl,
            &Options::default(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"dob\":\"1984\",\"n\":1,\"zip\":\"941**\"}\n{\"dob\":null,\"zip\":\"941**\"}\n"
        );
        let bad = b"{\"dob\":\"1984-05-02\",\"zip\":\"1\"}\n{\"dob\":\"May 84\",\"zip\":\"1\"}\n";
        let e = mask_bytes(
            &rules,
            None,
            Path::new("."),
            bad,
            Format::Jsonl,
            &Options::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 2") && e.contains("'dob'") && e.contains("r.toml"),
            "{e}"
        );
        let csv = b"zip,dob\n94107,1984-05-02\n";
        let rules = Rules::parse(
            "r.toml",
            "format_version = 1\n[[rule]]\ncolumn = \"zipcode\"\nop = \"null\"\n",
        )
        .unwrap();
        let e = mask_bytes(
            &rules,
            None,
            Path::new("."),
            csv,
            Format::Csv,
            &Options::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("r.toml:2") && e.contains("zip, dob"), "{e}");
    }

    /// A value that cannot be masked and a record over the size limit are both reported
    /// on the input line they start on, whatever the threads and block size (blocks are
    /// placed in the file by the lines of the blocks before them).
    #[test]
    fn csv_errors_name_their_line_on_any_threads_and_blocks() {
        let rules = Rules::parse(
            "r.toml",
            "format_version = 1\n[[rule]]\ncolumn = \"d\"\nop = \"generalize\"\nto = \"year\"\n",
        )
        .unwrap();
        // Quoted fields over two lines make lines and records differ.
        let mut good = String::from("n,d\n");
        for i in 0..200 {
            if i % 7 == 0 {
                good.push_str(&format!("\"two\nlines {i}\",2001-02-03\n"));
            } else {
                good.push_str(&format!("row {i},2001-02-03\n"));
            }
        }
        let line = good.matches('\n').count() + 1;
        let bad_value = format!("{good}last,May 1984\nafter,2001-02-03\n");
        let too_long = format!("{good}\"never closed,{}\n", "x\n".repeat(3000));
        for threads in [1, 2, 3] {
            for chunk_bytes in [16, 100, 4096] {
                let options = Options {
                    threads,
                    chunk_bytes,
                    max_record_bytes: 1000,
                    ..Options::default()
                };
                let run = |text: &str| {
                    mask_bytes(
                        &rules,
                        None,
                        Path::new("."),
                        text.as_bytes(),
                        Format::Csv,
                        &options,
                    )
                    .unwrap_err()
                    .to_string()
                };
                let e = run(&bad_value);
                assert!(
                    e.contains(&format!("input line {line},")),
                    "{threads} {chunk_bytes}: {e}"
                );
                let e = run(&too_long);
                assert!(
                    e.contains(&format!("input line {line}:")) && e.contains("1000 bytes"),
                    "{threads} {chunk_bytes}: {e}"
                );
            }
        }
    }

    #[test]
    fn shuffle_and_suppression_use_the_whole_table() {
        let rules = Rules::parse(
            "r.toml",
            "format_version = 1\n[[rule]]\ncolumn = \"spend\"\nop = \"shuffle\"\ngroup_by = [\"city\"]\n[[rule]]\ncolumn = \"zip\"\nop = \"generalize\"\nkeep_digits = 3\n[anonymity]\nquasi_identifiers = [\"zip\", \"gender\"]\nk = 5\nsuppress = true\n",
        )
        .unwrap();
        let input = generate::table("customers", 200, 3).unwrap();
        let options = Options {
            seed: Some(1),
            ..Options::default()
        };
        let (out, summary) = mask_bytes(
            &rules,
            None,
            Path::new("."),
            input.as_bytes(),
            Format::Csv,
            &options,
        )
        .unwrap();
        assert_eq!(summary.k, Some(5).max(summary.k));
        assert!(summary.k.unwrap() >= 5 && summary.suppressed > 0);
        let (a, b) = (
            Table::parse(input.as_bytes(), Format::Csv).unwrap(),
            Table::parse(&out, Format::Csv).unwrap(),
        );
        let mut before: Vec<_> = a.column("spend");
        let mut after: Vec<_> = b.column("spend");
        assert_ne!(before, after);
        before.sort();
        after.sort();
        assert_eq!(before, after);
    }
}
