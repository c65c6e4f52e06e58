//! `keylab mask` on Parquet as a user runs it: a generated table written as Parquet, masked
//! by file name and from stdin with `--format parquet`, reversed, and a file that is not
//! Parquet refused with its name.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

const KEYLAB: &str = env!("CARGO_BIN_EXE_keylab");
const KEY: &str = "9f1c2e7a4b6d8f0a1c3e5a7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f";

fn keylab(dir: &Path, args: &[&str]) -> Output {
    Command::new(KEYLAB)
        .args(args)
        .current_dir(dir)
        .env("MASK_KEY", KEY)
        .output()
        .expect("keylab runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A row as (column, text) pairs.
type Row = Vec<(String, Option<String>)>;

/// Every row, and the row group count.
fn read(path: &Path) -> (Vec<Row>, usize) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let groups = reader.metadata().num_row_groups();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| {
            r.unwrap()
                .get_column_iter()
                .map(|(n, f)| {
                    let v = match f {
                        Field::Null => None,
                        Field::Str(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    (n.clone(), v)
                })
                .collect()
        })
        .collect();
    (rows, groups)
}

fn column(rows: &[Row], name: &str) -> Vec<Option<String>> {
    rows.iter()
        .map(|r| r.iter().find(|(n, _)| n == name).unwrap().1.clone())
        .collect()
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

[[rule]]
column = "name"
op = "redact"
"#;

#[test]
fn parquet_is_masked_by_name_or_from_stdin_and_reverses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen_args = [
        "mask",
        "generate",
        "customers",
        "--rows",
        "3000",
        "--seed",
        "5",
    ];
    ok(&keylab(
        d,
        &[
            &gen_args[..],
            &["-o", "c.parquet", "--row-group-rows", "1000"],
        ]
        .concat(),
    ));
    ok(&keylab(d, &[&gen_args[..], &["-o", "c.csv"]].concat()));
    std::fs::write(d.join("rules.toml"), RULES).unwrap();
    let (original, groups) = read(&d.join("c.parquet"));
    assert_eq!((original.len(), groups), (3000, 3));
    let csv = std::fs::read_to_string(d.join("c.csv")).unwrap();
    assert_eq!(
        column(&original, "email")[0].as_deref(),
        csv.lines().nth(1).unwrap().split(',').nth(2)
    );

    ok(&keylab(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "c.parquet",
            "-o",
            "out.parquet",
        ],
    ));
    let (masked, groups) = read(&d.join("out.parquet"));
    assert_eq!((masked.len(), groups), (3000, 3));
    assert!(
        masked[0].iter().all(|(n, _)| n != "name"),
        "name is redacted"
    );
    for c in ["email", "ssn", "card_number"] {
        let (a, b) = (column(&original, c), column(&masked, c));
        assert!(a.iter().zip(&b).all(|(x, y)| x != y), "{c} is masked");
    }
    for c in ["customer_id", "zip", "notes"] {
        assert_eq!(column(&original, c), column(&masked, c), "{c} is untouched");
    }
    assert!(
        column(&masked, "email")
            .iter()
            .all(|t| t.as_ref().unwrap().len() == 22)
    );

    // From stdin with --format parquet: the same bytes on stdout.
    let mut child = Command::new(KEYLAB)
        .args(["mask", "--rules", "rules.toml", "--format", "parquet"])
        .current_dir(d)
        .env("MASK_KEY", KEY)
        .stdin(std::fs::File::open(d.join("c.parquet")).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut piped = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut piped).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(piped, std::fs::read(d.join("out.parquet")).unwrap());

    // Reverse gives the encrypted columns back.
    ok(&keylab(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "--reverse",
            "out.parquet",
            "-o",
            "back.parquet",
        ],
    ));
    let (back, _) = read(&d.join("back.parquet"));
    for c in ["ssn", "card_number"] {
        assert_eq!(column(&back, c), column(&original, c), "{c} reverses");
    }

    // A file named .parquet that is not Parquet is refused with its name; no output is left.
    let bad = keylab(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "c.csv",
            "--format",
            "parquet",
            "-o",
            "bad.parquet",
        ],
    );
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        err.contains("c.csv") && err.contains("not a readable Parquet file"),
        "{err}"
    );
    assert!(!d.join("bad.parquet").exists());
}

fn run_with(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(KEYLAB);
    cmd.args(args).current_dir(dir).env("MASK_KEY", KEY);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("keylab runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_inputs_and_outputs_go_through_the_engine_with_sse_kms() {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::ServerSideEncryption;

    let lab = crate::common::Lab::start().await;
    let s3 = lab.s3("owner-admin");
    let key_arn = crate::common::create_key(&lab.kms("owner-admin")).await;
    s3.create_bucket().bucket("lake").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("rules.toml"), RULES).unwrap();
    let s = keylab::backend::sdk::engine_settings(&lab.engine, "owner-admin", false).unwrap();
    let env = [
        ("AWS_ENDPOINT_URL", s.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", s.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", s.secret_access_key.as_str()),
        ("AWS_REGION", s.region.as_str()),
    ];

    // Parquet from the bucket, masked back into it under the key given on the command line.
    ok(&keylab(
        d,
        &[
            "mask",
            "generate",
            "customers",
            "--rows",
            "2000",
            "-o",
            "c.parquet",
        ],
    ));
    s3.put_object()
        .bucket("lake")
        .key("raw/customers.parquet")
        .body(ByteStream::from(
            std::fs::read(d.join("c.parquet")).unwrap(),
        ))
        .send()
        .await
        .unwrap();
    let run = run_with(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "s3://lake/raw/customers.parquet",
            "-o",
            "s3://lake/masked/customers.parquet",
            "--sse-kms-key",
            &key_arn,
        ],
        &env,
    );
    ok(&run);
    let head = s3
        .head_object()
        .bucket("lake")
        .key("masked/customers.parquet")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()));
    let got = s3
        .get_object()
        .bucket("lake")
        .key("masked/customers.parquet")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    std::fs::write(d.join("masked.parquet"), &got).unwrap();
    let ((original, _), (masked, _)) =
        (read(&d.join("c.parquet")), read(&d.join("masked.parquet")));
    assert_eq!(masked.len(), 2000);
    let (a, b) = (column(&original, "email"), column(&masked, "email"));
    assert!(a.iter().zip(&b).all(|(x, y)| x != y));

    // A CSV output larger than a part goes up in parts, under the rules' [output] key.
    ok(&keylab(
        d,
        &[
            "mask",
            "generate",
            "customers",
            "--rows",
            "50000",
            "-o",
            "big.csv",
        ],
    ));
    let with_output = format!("{RULES}\n[output]\nsse_kms_key = \"{key_arn}\"\n");
    std::fs::write(d.join("rules-sse.toml"), with_output).unwrap();
    let run = run_with(
        d,
        &[
            "mask",
            "--rules",
            "rules-sse.toml",
            "big.csv",
            "-o",
            "s3://lake/masked/big.csv",
            "--s3-part-bytes",
            "5242880",
        ],
        &env,
    );
    ok(&run);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("multipart, 2 parts") && err.contains("SSE-KMS"),
        "{err}"
    );
    let head = s3
        .head_object()
        .bucket("lake")
        .key("masked/big.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()));
    let local = run_with(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "big.csv",
            "-o",
            "local.csv",
        ],
        &[],
    );
    ok(&local);
    assert_eq!(
        head.content_length(),
        Some(std::fs::metadata(d.join("local.csv")).unwrap().len() as i64)
    );

    // Refusals: --sse-kms-key on a local output, a missing object, a bucket without a key.
    let local = run_with(
        d,
        &[
            "mask",
            "--rules",
            "rules.toml",
            "big.csv",
            "-o",
            "x.csv",
            "--sse-kms-key",
            &key_arn,
        ],
        &env,
    );
    assert!(String::from_utf8_lossy(&local.stderr).contains("--sse-kms-key applies to an s3://"));
    let missing = run_with(
        d,
        &["mask", "--rules", "rules.toml", "s3://lake/nope.csv"],
        &env,
    );
    let e = String::from_utf8_lossy(&missing.stderr);
    assert!(
        e.contains("cannot read s3://lake/nope.csv") && e.contains("NoSuchKey"),
        "{e}"
    );
    let folder = run_with(d, &["mask", "--rules", "rules.toml", "s3://lake"], &env);
    assert!(String::from_utf8_lossy(&folder.stderr).contains("s3://BUCKET/KEY"));
}
