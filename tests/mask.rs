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
use rand::SeedableRng;

const KEYLAB: &str = env!("CARGO_BIN_EXE_keylab");

fn op(rule: &str, key: &MasterKey) -> Op {
    let rules = Rules::parse("r.toml", &format!("format_version = 1\n[[rule]]\n{rule}\n")).unwrap();
    Op::compile(&rules.rules[0].0, Some(key), Path::new(".")).unwrap()
}

fn key(byte: u8) -> MasterKey {
    MasterKey::from_bytes(vec![byte; 32], "test").unwrap()
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
    let key = "ab".repeat(32);
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
