//! The masking engine: properties of the reversible and format-preserving operations
//! (`proptest`), and `keylab mask` as a user runs it — keys from the environment and from KMS
//! through the engine, refusals, atomic output, reverse, generate and analyze.

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keylab_mask::rules::Alphabet;
use keylab_mask::scan::luhn_valid;
use keylab_mask::{self, MasterKey, Rules, ff1::Ff1, ops::Op};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

const KEYLAB: &str = env!("CARGO_BIN_EXE_keylab");

fn op(rule: &str, key: &MasterKey) -> Op {
    let rules = Rules::parse("r.toml", &format!("format_version = 1\n[[rule]]\n{rule}\n")).unwrap();
    Op::compile(&rules.rules[0].0, Some(key), Path::new(".")).unwrap()
}

/// A key of 32 bytes that look random, one per seed.
fn key(seed: u8) -> MasterKey {
    use sha2::Digest;
    MasterKey::from_bytes(sha2::Sha256::digest([seed]).to_vec(), "test").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deterministic_encryption_round_trips(value in "\\PC{1,40}", k in 1u8..200) {
        let siv = op("column = \"c\"\nop = \"deterministic_encrypt\"", &key(k));
        let token = siv.apply(&value).unwrap().unwrap();
        prop_assert_eq!(siv.apply(&value).unwrap().unwrap(), token.clone());
        prop_assert_eq!(siv.reverse(&token).unwrap(), value.clone());
        let other = op("column = \"c\"\nop = \"deterministic_encrypt\"", &key(k.wrapping_add(1)));
        prop_assert!(other.reverse(&token).is_err());
    }

    #[test]
    fn fpe_keeps_the_format_and_round_trips(digits in "[0-9]{6,19}", seps in proptest::collection::vec(0usize..20, 0..3)) {
        let mut value: String = digits.clone();
        for s in seps {
            let at = s.min(value.len());
            value.insert(at, '-');
        }
        let f = Ff1::new(&[7; 32], "col", Alphabet::Digits, 0, 0, false);
        let out = f.apply(&value, false).unwrap();
        prop_assert_eq!(out.len(), value.len());
        for (a, b) in value.chars().zip(out.chars()) {
            prop_assert_eq!(a == '-', b == '-');
            prop_assert!(b == '-' || b.is_ascii_digit());
        }
        prop_assert_eq!(f.apply(&out, true).unwrap(), value);
    }

    #[test]
    fn fpe_cards_stay_valid_cards(seed in any::<u64>()) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let card = keylab_mask::generate::card_number(&mut rng);
        let f = Ff1::new(&[3; 32], "card", Alphabet::Digits, 6, 4, true);
        let out = f.apply(&card, false).unwrap();
        prop_assert!(luhn_valid(&out));
        prop_assert_eq!(&out[..6], &card[..6]);
        prop_assert_eq!(&out[12..], &card[12..]);
        prop_assert_eq!(f.apply(&out, true).unwrap(), card);
    }

    #[test]
    fn tokens_are_deterministic_and_keyed(value in "[a-z]{1,12}@example\\.com") {
        let t = "column = \"e\"\nop = \"hmac_token\"\nnormalize = \"email\"";
        let a = op(t, &key(1)).apply(&value).unwrap().unwrap();
        prop_assert_eq!(op(t, &key(1)).apply(&value.to_uppercase()).unwrap().unwrap(), a.clone());
        prop_assert_ne!(op(t, &key(2)).apply(&value).unwrap().unwrap(), a);
    }

    #[test]
    fn masking_keeps_length_and_separators(value in "[0-9]{3}-[0-9]{2}-[0-9]{4}", last in 0usize..10) {
        let m = op(&format!("column = \"c\"\nop = \"mask\"\nkeep_last = {last}\nignore = \"-\""), &key(1));
        let out = m.apply(&value).unwrap().unwrap();
        prop_assert_eq!(out.len(), value.len());
        prop_assert_eq!(out.matches('-').count(), 2);
        let kept = last.min(9);
        prop_assert_eq!(out.chars().filter(|c| *c == '*').count(), 9 - kept);
    }
}

fn keylab(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(KEYLAB);
    cmd.args(args).current_dir(dir).env_remove("MASK_KEY");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("keylab runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const RULES: &str = r#"format_version = 1
[key]
source = "env:MASK_KEY"

[[rule]]
column = "email"
op = "hmac_token"
normalize = "email"

[[rule]]
column = "ssn"
op = "deterministic_encrypt"

[[rule]]
column = "card_number"
op = "fpe"
keep_prefix = 6
keep_suffix = 4
luhn = true
"#;

#[test]
fn the_mask_command_refuses_without_a_key_and_never_leaves_half_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let generate = [
        "mask",
        "generate",
        "customers",
        "--rows",
        "300",
        "--seed",
        "9",
    ];
    let made = keylab(d, &[&generate[..], &["-o", "c.csv"]].concat(), &[]);
    assert!(made.status.success(), "{}", stderr(&made));
    let again = keylab(d, &generate, &[]);
    assert_eq!(
        again.stdout,
        std::fs::read(d.join("c.csv")).unwrap(),
        "generate is deterministic"
    );
    std::fs::write(d.join("rules.toml"), RULES).unwrap();
    std::fs::write(d.join("out.csv"), "old contents").unwrap();

    let no_key = keylab(
        d,
        &["mask", "--rules", "rules.toml", "c.csv", "-o", "out.csv"],
        &[],
    );
    assert_eq!(no_key.status.code(), Some(1));
    assert!(
        stderr(&no_key).contains("$MASK_KEY, which is not set"),
        "{}",
        stderr(&no_key)
    );
    let short = keylab(
        d,
        &["mask", "--rules", "rules.toml", "c.csv", "-o", "out.csv"],
        &[("MASK_KEY", "00ff")],
    );
    assert!(stderr(&short).contains("at least 32"), "{}", stderr(&short));
    let no_source = RULES.replace("[key]\nsource = \"env:MASK_KEY\"\n", "");
    std::fs::write(d.join("nokey.toml"), no_source).unwrap();
    let missing = keylab(d, &["mask", "--rules", "nokey.toml", "c.csv"], &[]);
    assert!(
        stderr(&missing).contains("needs a key and the rules have none"),
        "{}",
        stderr(&missing)
    );
    std::fs::write(
        d.join("typo.toml"),
        "format_version = 1\n[[rule]]\ncolumn = \"ssn\"\nop = \"mask\"\nkeep_lst = 4\n",
    )
    .unwrap();
    let typo = keylab(d, &["mask", "--rules", "typo.toml", "c.csv"], &[]);
    assert!(
        stderr(&typo).contains("typo.toml:") && stderr(&typo).contains("keep_lst"),
        "{}",
        stderr(&typo)
    );

    // A value the rules cannot take fails the run, names the line, and leaves the old file.
    let mut broken = std::fs::read_to_string(d.join("c.csv")).unwrap();
    broken.push_str("C999999,Bad Row,bad@example.com,212-555-0100,912-34-5678,4111111111111112,1990-01-01,F,94107,San Francisco,flu,1.00,none\n");
    std::fs::write(d.join("broken.csv"), broken).unwrap();
    let key = "5f0e6b2a9c41d8e7305fa1c2b9d48e6071a3c5e9f2b8d4a6c0e1f3b5d7a9c2e4".to_string();
    let bad = keylab(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "broken.csv",
            "-o",
            "out.csv",
        ],
        &[("MASK_KEY", &key)],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("input line 302") && stderr(&bad).contains("Luhn"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out.csv")).unwrap(),
        "old contents"
    );

    // Masked, then revealed with the same key: the reversible columns come back.
    let ok = keylab(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "c.csv",
            "-o",
            "out.csv",
            "--threads",
            "2",
        ],
        &[("MASK_KEY", &key)],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let back = keylab(
        d,
        &["mask", "--rules", "rules.toml", "--reverse", "out.csv"],
        &[("MASK_KEY", &key)],
    );
    assert!(back.status.success(), "{}", stderr(&back));
    let original = keylab_mask::Table::parse(
        &std::fs::read(d.join("c.csv")).unwrap(),
        keylab_mask::Format::Csv,
    )
    .unwrap();
    let masked = keylab_mask::Table::parse(
        &std::fs::read(d.join("out.csv")).unwrap(),
        keylab_mask::Format::Csv,
    )
    .unwrap();
    let revealed = keylab_mask::Table::parse(&back.stdout, keylab_mask::Format::Csv).unwrap();
    for column in ["ssn", "card_number"] {
        assert_eq!(revealed.column(column), original.column(column), "{column}");
        assert_ne!(masked.column(column), original.column(column), "{column}");
    }
    assert_ne!(
        revealed.column("email"),
        original.column("email"),
        "HMAC is one-way"
    );

    // stdin to stdout gives the same bytes as file to file.
    let piped = Command::new(KEYLAB)
        .args(["mask", "--rules", "rules.toml", "-"])
        .current_dir(d)
        .env("MASK_KEY", &key)
        .stdin(std::fs::File::open(d.join("c.csv")).unwrap())
        .output()
        .unwrap();
    assert_eq!(piped.stdout, std::fs::read(d.join("out.csv")).unwrap());

    let analysis = keylab(
        d,
        &[
            "mask",
            "analyze",
            "--qi",
            "zip,gender",
            "--sensitive",
            "diagnosis",
            "--json",
            "c.csv",
        ],
        &[],
    );
    let a: serde_json::Value = serde_json::from_slice(&analysis.stdout).unwrap();
    assert_eq!(a["rows"], 300);
    assert!(a["k"].as_u64().unwrap() >= 1 && a["classes"].as_u64().unwrap() > 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kms_key_is_unwrapped_through_the_backend_and_its_key_policy() {
    let lab = crate::common::Lab::start().await;
    let kms = lab.kms("owner-admin");
    let key_id = crate::common::create_key(&kms).await;
    let data_key = kms
        .generate_data_key()
        .key_id(&key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context("purpose", "masking")
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("mask-key.b64"),
        STANDARD.encode(data_key.ciphertext_blob().unwrap().as_ref()),
    )
    .unwrap();
    std::fs::write(
        d.join("rules.toml"),
        "format_version = 1\n[key]\nsource = \"kms:mask-key.b64\"\ncontext = { purpose = \"masking\" }\n[[rule]]\ncolumn = \"email\"\nop = \"hmac_token\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("c.csv"),
        keylab_mask::generate::table("customers", 20, 1).unwrap(),
    )
    .unwrap();
    let run = |profile: &str| {
        let s = keylab::backend::sdk::engine_settings(&lab.engine, profile, false).unwrap();
        keylab(
            d,
            &["mask", "--rules", "rules.toml", "c.csv"],
            &[
                ("AWS_ENDPOINT_URL", &s.endpoint),
                ("AWS_ACCESS_KEY_ID", &s.access_key_id),
                ("AWS_SECRET_ACCESS_KEY", &s.secret_access_key),
                ("AWS_REGION", &s.region),
            ],
        )
    };
    let owner = run("owner-admin");
    assert!(owner.status.success(), "{}", stderr(&owner));
    // The token is HMAC under the unwrapped data key, derived for the column's domain.
    let plaintext = data_key.plaintext().unwrap().as_ref().to_vec();
    let expected = {
        let rules = Rules::parse(
            "r",
            "format_version = 1\n[[rule]]\ncolumn = \"email\"\nop = \"hmac_token\"\n",
        )
        .unwrap();
        let k = MasterKey::from_bytes(plaintext, "test").unwrap();
        let (out, _) = keylab_mask::mask_bytes(
            &rules,
            Some(&k),
            Path::new("."),
            &std::fs::read(d.join("c.csv")).unwrap(),
            keylab_mask::Format::Csv,
            &keylab_mask::Options::default(),
        )
        .unwrap();
        out
    };
    assert_eq!(owner.stdout, expected);
    let outsider = run("outsider-admin");
    assert_eq!(outsider.status.code(), Some(1));
    assert!(
        stderr(&outsider).contains("AccessDeniedException"),
        "{}",
        stderr(&outsider)
    );
    let no_endpoint = keylab(
        d,
        &["mask", "--rules", "rules.toml", "c.csv"],
        &[("AWS_ENDPOINT_URL", "")],
    );
    assert!(
        stderr(&no_endpoint).contains("AWS_ENDPOINT_URL"),
        "{}",
        stderr(&no_endpoint)
    );
}

/// Reads CSV files with Python's `csv` module (BOM dropped, blank lines skipped as the `csv`
/// crate does) and prints their rows as one JSON object by file name.
const PY_READ_CSV: &str = r#"
import csv, json, sys
out = {}
for name in sys.argv[1:]:
    with open(name, newline="", encoding="utf-8-sig") as f:
        out[name] = [row for row in csv.reader(f) if row]
print(json.dumps(out))
"#;

fn python_rows(dir: &Path, files: &[String]) -> serde_json::Map<String, serde_json::Value> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(PY_READ_CSV)
        .args(files)
        .current_dir(dir)
        .output()
        .expect("python3 runs (it is in CI; install it to run this test)");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A CSV full of the cases that broke the block splitter: quotes inside unquoted fields
/// (`5'10" tall`), quoted fields with line breaks and doubled quotes, fields longer than a
/// block, empty fields, CRLF, a byte order mark, and the last record with or without a line
/// feed. The `email` column is the one the rules replace.
fn edge_case_csv(seed: u64, crlf: bool, bom: bool, trailing: bool) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str(&format!("id,height,email,note,tail{eol}"));
    let rows = 400;
    for i in 0..rows {
        let height = match rng.random_range(0..5) {
            0 => "5'10\" tall".to_string(),
            1 => "\"6' 1\"\", broad\"".to_string(),
            2 => String::new(),
            3 => "x\"y\"z".to_string(),
            _ => format!("{}cm", 150 + i % 50),
        };
        let email = match rng.random_range(0..6) {
            0 => String::new(),
            1 => format!("\"person{i}@example.com\""),
            _ => format!("person{i}@example.com"),
        };
        let note = match rng.random_range(0..7) {
            0 => String::new(),
            1 => "\"\"".to_string(),
            2 => format!(
                "\"first line{eol}second, with \"\"quotes\"\"{eol}mail person{i}@example.com\""
            ),
            3 => format!("\"{}\"", "long ".repeat(rng.random_range(200..1500))),
            4 => format!("\"ends in a break{eol}\""),
            5 => "plain \"quoted\" words".to_string(),
            _ => format!("\"{eol}{eol}\""),
        };
        let tail = match rng.random_range(0..3) {
            0 => "\"a\"b".to_string(),
            1 => "'".to_string(),
            _ => i.to_string(),
        };
        out.push_str(&format!("{i},{height},{email},{note},{tail}"));
        if i + 1 < rows || trailing {
            out.push_str(eol);
        }
    }
    out.into_bytes()
}

/// Every record comes out whole whatever the threads and block size: the row count and each
/// field the rules leave alone are as Python's `csv` module reads the input, and every value of
/// the ruled column is masked.
#[test]
fn csv_records_come_out_whole_for_any_threads_and_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rules.toml"),
        "format_version = 1\n[[rule]]\ncolumn = \"email\"\nop = \"replace\"\nwith = \"MASKED\"\n",
    )
    .unwrap();
    let variants = [
        (1, false, false, true),
        (2, true, true, false),
        (3, false, true, false),
        (4, true, false, true),
    ];
    for (seed, crlf, bom, trailing) in variants {
        let input = format!("in{seed}.csv");
        std::fs::write(d.join(&input), edge_case_csv(seed, crlf, bom, trailing)).unwrap();
        let mut outputs = Vec::new();
        for threads in 1..=4 {
            for block in [7, 64, 333, 4096, 1 << 20] {
                let output = format!("out{seed}-{threads}-{block}.csv");
                let run = keylab(
                    d,
                    &[
                        "mask",
                        "--rules",
                        "rules.toml",
                        &input,
                        "-o",
                        &output,
                        "--threads",
                        &threads.to_string(),
                        "--block-bytes",
                        &block.to_string(),
                    ],
                    &[],
                );
                assert!(run.status.success(), "{input} {output}: {}", stderr(&run));
                outputs.push(output);
            }
        }
        let files: Vec<String> = std::iter::once(input.clone())
            .chain(outputs.clone())
            .collect();
        let rows = python_rows(d, &files);
        let original = rows[&input].as_array().unwrap();
        assert_eq!(
            original.len(),
            401,
            "{input}: the generator's rows, header included"
        );
        for output in &outputs {
            let masked = rows[output].as_array().unwrap();
            assert_eq!(masked.len(), original.len(), "{output}: row count");
            for (n, (a, b)) in original.iter().zip(masked).enumerate().skip(1) {
                let (a, b) = (a.as_array().unwrap(), b.as_array().unwrap());
                assert_eq!(a.len(), b.len(), "{output}: row {n} fields");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    if i == 2 {
                        assert_eq!(y, "MASKED", "{output}: row {n} email");
                    } else {
                        assert_eq!(x, y, "{output}: row {n} field {i}");
                    }
                }
            }
        }
    }
}

/// One stray quote at a field's start makes the rest of the file one field: the run stops at
/// the record limit, naming the line the record starts on, instead of reading it all.
#[test]
fn a_stray_quote_stops_at_the_record_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rules.toml"),
        "format_version = 1\n[[rule]]\ncolumn = \"email\"\nop = \"null\"\n",
    )
    .unwrap();
    let mut text =
        String::from("id,email,note\n1,a@example.com,fine\n2,b@example.com,\"never closed\n");
    for i in 3..20_000 {
        text.push_str(&format!("{i},c{i}@example.com,more\n"));
    }
    std::fs::write(d.join("in.csv"), text).unwrap();
    let run = keylab(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "in.csv",
            "--max-record-bytes",
            "100000",
        ],
        &[],
    );
    assert_eq!(run.status.code(), Some(1));
    let e = stderr(&run);
    assert!(
        e.contains("input line 3")
            && e.contains("longer than 100000 bytes")
            && e.contains("--max-record-bytes"),
        "{e}"
    );
}

fn run_mask(d: &Path, rules: &str, input: &str, envs: &[(&str, &str)]) -> Output {
    std::fs::write(d.join("r.toml"), rules).unwrap();
    keylab(d, &["mask", "--rules", "r.toml", input], envs)
}

/// A rule that cannot apply is an error before any row is written: a missing column unless
/// the rule is optional, a near-miss spelling always (naming both), in CSV and JSON Lines.
#[test]
fn rules_fail_closed_on_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rule = |column: &str, extra: &str| {
        format!("format_version = 1\n[[rule]]\ncolumn = \"{column}\"\nop = \"null\"\n{extra}")
    };
    std::fs::write(d.join("c.csv"), "id,Email,note\n1,a@example.com,x\n").unwrap();
    let near = run_mask(d, &rule("email", ""), "c.csv", &[]);
    assert_eq!(near.status.code(), Some(1));
    assert!(
        stderr(&near).contains("r.toml:2")
            && stderr(&near).contains("column 'email'")
            && stderr(&near).contains("'Email' instead"),
        "{}",
        stderr(&near)
    );
    assert!(near.stdout.is_empty(), "nothing is written");
    // Optional does not excuse a near miss.
    let near = run_mask(d, &rule("email", "optional = true\n"), "c.csv", &[]);
    assert!(
        stderr(&near).contains("'Email' instead"),
        "{}",
        stderr(&near)
    );
    std::fs::write(d.join("s.csv"), "id, email\n1,a@example.com\n").unwrap();
    let spaced = run_mask(d, &rule("email", ""), "s.csv", &[]);
    assert!(
        stderr(&spaced).contains("' email' instead"),
        "{}",
        stderr(&spaced)
    );

    let two = format!(
        "{}[[rule]]\ncolumn = \"ssn\"\nop = \"null\"\n",
        rule("note", "")
    );
    let missing = run_mask(d, &two, "c.csv", &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("r.toml:5")
            && stderr(&missing).contains("column 'ssn' is not in the input")
            && stderr(&missing).contains("optional = true"),
        "{}",
        stderr(&missing)
    );
    let optional = run_mask(d, &format!("{two}optional = true\n"), "c.csv", &[]);
    assert!(optional.status.success(), "{}", stderr(&optional));
    assert_eq!(
        String::from_utf8_lossy(&optional.stdout),
        "id,Email,note\n1,a@example.com,\n"
    );
    assert!(
        stderr(&optional).contains("no column ssn"),
        "{}",
        stderr(&optional)
    );
    let none = run_mask(d, &rule("ssn", "optional = true\n"), "c.csv", &[]);
    assert!(
        stderr(&none).contains("no column of the rules"),
        "{}",
        stderr(&none)
    );
    // A byte order mark is not part of the first column's name.
    std::fs::write(d.join("b.csv"), "\u{feff}email,id\na@example.com,1\n").unwrap();
    let bom = run_mask(d, &rule("email", ""), "b.csv", &[]);
    assert!(bom.status.success(), "{}", stderr(&bom));
    assert_eq!(String::from_utf8_lossy(&bom.stdout), "email,id\n,1\n");

    // JSON Lines: fields by JSON Pointer, nested ones too; a plain name is a top-level key.
    std::fs::write(
        d.join("j.jsonl"),
        "{\"customer\":{\"email\":\"a@example.com\",\"id\":1},\"ip\":\"192.0.2.1\"}\n{\"customer\":{\"id\":2},\"ip\":\"192.0.2.2\"}\n",
    )
    .unwrap();
    let nested = format!(
        "{}[[rule]]\ncolumn = \"ip\"\nop = \"redact\"\n",
        rule("/customer/email", "optional = true\n")
    );
    let ok = run_mask(d, &nested, "j.jsonl", &[]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "{\"customer\":{\"email\":null,\"id\":1}}\n{\"customer\":{\"id\":2}}\n"
    );
    let strict = run_mask(d, &rule("/customer/email", ""), "j.jsonl", &[]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stderr(&strict).contains("input line 2")
            && stderr(&strict).contains("no field /customer/email"),
        "{}",
        stderr(&strict)
    );
    let near = run_mask(
        d,
        &rule("/customer/Email", "optional = true\n"),
        "j.jsonl",
        &[],
    );
    assert!(
        stderr(&near).contains("input line 1") && stderr(&near).contains("'email' instead"),
        "{}",
        stderr(&near)
    );
}

/// Keys that are visibly not random are refused, each with how to make a real one.
#[test]
fn low_entropy_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.csv"), "email\na@example.com\n").unwrap();
    let env_rules = "format_version = 1\n[key]\nsource = \"env:MASK_KEY\"\n[[rule]]\ncolumn = \"email\"\nop = \"hmac_token\"\n";
    let cases = [
        ("0".repeat(64), "one byte (0x00) repeated"),
        ("0123456789abcdef".repeat(4), "pattern repeated"),
        // A 44-character passphrase that is valid base64 is judged by its text.
        (
            "correcthorsebatterystaplecorrecthorsebattery".to_string(),
            "neither hex nor base64",
        ),
        // base64 of a passphrase: the bytes are printable text.
        (
            STANDARD.encode("my secret masking passphrase, long enough!"),
            "passphrase",
        ),
        ("00ff".to_string(), "at least 32"),
    ];
    for (value, why) in cases {
        let run = run_mask(d, env_rules, "c.csv", &[("MASK_KEY", &value)]);
        assert_eq!(run.status.code(), Some(1), "{value}");
        let e = stderr(&run);
        assert!(
            e.contains(why)
                && e.contains("openssl rand -hex 32")
                && e.contains("generate-data-key"),
            "{value}: {e}"
        );
    }
    std::fs::write(
        d.join("pass.key"),
        "correct horse battery staple and then some\n",
    )
    .unwrap();
    let file_rules = env_rules.replace("env:MASK_KEY", "file:pass.key");
    let run = run_mask(d, &file_rules, "c.csv", &[]);
    assert!(stderr(&run).contains("passphrase"), "{}", stderr(&run));
    let good = "5f0e6b2a9c41d8e7305fa1c2b9d48e6071a3c5e9f2b8d4a6c0e1f3b5d7a9c2e4";
    let run = run_mask(d, env_rules, "c.csv", &[("MASK_KEY", good)]);
    assert!(run.status.success(), "{}", stderr(&run));
}
