//! The exercise runtime end to end: the repo's pack verified on the engine, every check kind
//! passing on a solution and failing on its misconception (the `kinds` test pack), `verify`
//! failing when a pack is broken, strict pack errors, the console's AWS CLI forms, checks that
//! survive malformed files, the reports, and the learner commands through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use keylab::backend::Backend;
use keylab::console::Console;
use keylab::lab::grader::{Status, run_checks};
use keylab::lab::report;
use keylab::lab::session::{Session, Target};
use keylab::lab::verify::verify;
use keylab::pack::{BackendKind, Pack};
use keylab_engine::{Engine, EngineConfig};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kinds_pack() -> PathBuf {
    repo().join("tests/data/packs/kinds")
}

fn keylab(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(args)
        .env("KEYLAB_DATA_DIR", data)
        .output()
        .expect("keylab runs")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the repo's own pack that a test may break.
fn repo_pack_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["lessons", "exercises", "graders"] {
        copy_dir(&repo().join(part), &dir.path().join(part));
    }
    std::fs::copy(repo().join("pack.toml"), dir.path().join("pack.toml")).unwrap();
    dir
}

/// The required shape of Exercism's results.json version 3.
fn assert_results_v3(v: &Value) {
    assert_eq!(v["version"], 3);
    assert!(["pass", "fail", "error"].contains(&v["status"].as_str().unwrap()));
    assert!(v["message"].is_null() || v["message"].is_string());
    let tests = v["tests"].as_array().expect("tests is an array");
    for t in tests {
        assert!(t["name"].is_string(), "{t}");
        assert!(
            ["pass", "fail", "error"].contains(&t["status"].as_str().unwrap()),
            "{t}"
        );
        assert!(t["message"].is_null() || t["message"].is_string(), "{t}");
        assert!(t["output"].is_null() || t["output"].as_str().unwrap().chars().count() <= 500);
        assert!(t["test_code"].is_string(), "{t}");
        assert!(t.get("task_id").is_none_or(|id| id.is_u64()), "{t}");
    }
    assert!(v["x-keylab"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repo_pack_verifies_on_the_engine_in_course_order() {
    let pack = Pack::embedded().expect("the embedded pack loads");
    let ids: Vec<&str> = pack.exercises.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bucket-default-cmk",
            "deny-unencrypted-uploads",
            "client-side-upload",
            "sse-c-https",
            "reencrypt-existing-objects",
            "replicate-sse-kms",
            "first-cmk",
            "kms-envelope",
            "key-policy-context",
            "rotate-reencrypt",
            "key-deletion",
            "grant-for-aws-resource",
            "logs-key-policy",
            "trail-key-source-arn",
            "cross-account-decrypt",
            "cross-account-sse-kms",
            "assume-role-cross-account",
            "grant-context",
            "https-only-bucket",
            "tls-floor",
            "kms-via-s3",
            "mask-cards",
            "scrub-free-text",
            "mask-pseudonymise",
            "mask-parquet-lake",
            "password-storage",
            "k-anonymity",
            "emr-security-config",
            "glue-security-config",
            "redshift-encryption",
            "sqs-producer-key",
            "msk-encryption-info",
            "audit-lookup-events",
            "secret-cross-account",
        ]
    );
    let scratch = tempfile::tempdir().unwrap();
    let mut seen = 0;
    let summary = verify(
        &pack,
        BackendKind::Engine,
        &Target::Engine,
        scratch.path(),
        7,
        |p| {
            assert!(p.done <= p.total);
            seen += 1;
        },
    )
    .await;
    let failed: Vec<String> = summary
        .cases
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| format!("{} / {}: {}", c.suite, c.name, c.message))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let unfilled: Vec<String> = summary
        .cases
        .iter()
        .flat_map(|c| [&c.message].into_iter().chain(c.output.as_ref()))
        .filter(|m| m.contains("{{"))
        .cloned()
        .collect();
    assert!(
        unfilled.is_empty(),
        "every message has its names filled in: {unfilled:#?}"
    );
    let wrong: usize = pack.graders.values().map(|g| g.wrong.len()).sum();
    assert_eq!(summary.cases.len(), pack.exercises.len() * 2 + wrong);
    assert!(
        wrong >= 9,
        "every exercise ships several known-wrong variants"
    );
    assert_eq!(seen, summary.cases.len() + 1);

    let json = report::json(&summary);
    assert_results_v3(&json);
    assert_eq!(json["status"], "pass");
    let xml = report::junit(&summary, "keylab verify");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses");
    assert_eq!(parsed.tests, summary.cases.len());
    assert_eq!(parsed.failures, 0);
    assert_eq!(parsed.test_suites.len(), pack.exercises.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_kind_passes_on_the_solution_and_catches_its_misconception() {
    let pack = Pack::open(Some(&kinds_pack())).expect("the kinds pack loads");
    let kinds: std::collections::BTreeSet<&str> = pack
        .graders
        .values()
        .flat_map(|g| &g.checks)
        .map(|c| match &c.kind {
            keylab::pack::CheckKind::Key(_) => "key",
            keylab::pack::CheckKind::Alias(_) => "alias",
            keylab::pack::CheckKind::BucketEncryption(_) => "bucket_encryption",
            keylab::pack::CheckKind::Object(_) => "object",
            keylab::pack::CheckKind::Simulate(_) => "simulate",
            keylab::pack::CheckKind::Command(_) => "command",
            keylab::pack::CheckKind::RoundTrip(_) => "round_trip",
            keylab::pack::CheckKind::File(_) => "file",
            keylab::pack::CheckKind::NoPlaintextKeys(_) => "no_plaintext_keys",
            keylab::pack::CheckKind::Audit(_) => "audit",
            keylab::pack::CheckKind::NoLeaks(_) => "no_leaks",
            keylab::pack::CheckKind::Formats(_) => "formats",
            keylab::pack::CheckKind::Joins(_) => "joins",
            keylab::pack::CheckKind::KeyedTokens(_) => "keyed_tokens",
            keylab::pack::CheckKind::PasswordHashes(_) => "password_hashes",
            keylab::pack::CheckKind::KAnonymity(_) => "k_anonymity",
            keylab::pack::CheckKind::Document(_) => "document",
        })
        .collect();
    assert_eq!(kinds.len(), 17, "the test pack uses every kind: {kinds:?}");
    let scratch = tempfile::tempdir().unwrap();
    let summary = verify(
        &pack,
        BackendKind::Engine,
        &Target::Engine,
        scratch.path(),
        3,
        |_| {},
    )
    .await;
    let caught = |variant: &str| -> String {
        let case = summary
            .cases
            .iter()
            .find(|c| c.name == format!("wrong variant '{variant}' fails"))
            .unwrap_or_else(|| panic!("no case for {variant}"));
        assert_eq!(case.status, Status::Pass, "{variant}: {}", case.message);
        case.output.clone().unwrap_or_default()
    };
    for (variant, check) in [
        ("rotation-off", "the key rotates every 180 days"),
        ("alias-moved", "the alias points at the key"),
        (
            "sse-s3-default",
            "the bucket's default encryption is SSE-KMS",
        ),
        ("object-sse-s3", "data.txt is SSE-KMS under the key"),
        (
            "no-bucket-policy",
            "the partner may read objects and the outsider may not",
        ),
        ("no-metadata", "head-object shows the metadata"),
        ("wrong-plaintext", "note.enc decrypts to plain.txt"),
        ("report-not-json", "report.json is JSON"),
        ("plaintext-key-left", "no plaintext data key is left"),
        ("no-context", "a data key was made with team=kinds"),
        ("notes-leak", "nothing leaks"),
        ("card-masked", "cards keep their format"),
        ("separate-domains", "orders join customers"),
        ("unkeyed-hash", "tokens are keyed"),
        ("password-token", "passwords are Argon2id"),
        ("no-generalisation", "customers are 5-anonymous"),
        (
            "other-key",
            "the cluster is encrypted with the key, named any way",
        ),
        (
            "not-valid-input",
            "the cluster is encrypted with the key, named any way",
        ),
        (
            "list-entry-missing",
            "require_ssl is on, wherever it is in the list",
        ),
    ] {
        let by = caught(variant);
        assert!(
            by.contains(check),
            "{variant} must be caught by \"{check}\": {by}"
        );
    }
    for case in &summary.cases {
        assert_eq!(case.status, Status::Pass, "{}: {}", case.name, case.message);
    }
}

#[test]
fn verify_fails_when_a_solution_breaks_or_a_wrong_variant_passes() {
    let data = tempfile::tempdir().unwrap();
    let broken = repo_pack_copy();
    std::fs::write(
        broken.path().join("graders/kms-envelope/solution"),
        "aws kms generate-data-key --key-id {{alias}} --key-spec AES_256 > datakey.json\n",
    )
    .unwrap();
    let solution =
        std::fs::read_to_string(repo().join("graders/https-only-bucket/solution")).unwrap();
    std::fs::write(
        broken
            .path()
            .join("graders/https-only-bucket/wrong/same-as-solution"),
        solution,
    )
    .unwrap();
    let out = keylab(
        data.path(),
        &[
            "verify",
            "--pack",
            broken.path().to_str().unwrap(),
            "--trust",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_results_v3(&v);
    assert_eq!(v["status"], "fail");
    let failed: Vec<(&str, &str)> = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] != "pass")
        .map(|t| (t["name"].as_str().unwrap(), t["message"].as_str().unwrap()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert_eq!(failed[0].0, "kms-envelope [engine] / solution passes");
    assert!(
        failed[0].1.contains("the reference solution fails"),
        "{}",
        failed[0].1
    );
    // With the solution broken, a variant caught only by a check the solution fails too
    // proves nothing.
    assert_eq!(
        failed[1].0,
        "kms-envelope [engine] / wrong variant 'plaintext-key-left-on-disk' fails"
    );
    assert!(
        failed[1]
            .1
            .contains("caught only by checks that fail on the reference solution too"),
        "{}",
        failed[1].1
    );
    assert_eq!(
        failed[2].0,
        "https-only-bucket [engine] / wrong variant 'same-as-solution' fails"
    );
    assert!(
        failed[2].1.contains("passes every check"),
        "{}",
        failed[2].1
    );

    let junit = keylab(
        data.path(),
        &[
            "verify",
            "--pack",
            broken.path().to_str().unwrap(),
            "--trust",
            "--format",
            "junit",
        ],
    );
    assert_eq!(junit.status.code(), Some(1));
    let report = quick_junit::Report::deserialize_from_str(&String::from_utf8_lossy(&junit.stdout))
        .expect("JUnit parses");
    assert_eq!(report.failures, 3);

    let ok = keylab(data.path(), &["verify"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    let stages: usize = Pack::embedded()
        .unwrap()
        .graders
        .values()
        .map(|g| 2 + g.wrong.len())
        .sum();
    assert!(
        text.contains(&format!("PASS: {stages} of {stages} passed")),
        "{text}"
    );
    let nowhere = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(["verify", "--backend", "localstack"])
        .env("KEYLAB_DATA_DIR", data.path())
        .env_remove("KEYLAB_LOCALSTACK_ENDPOINT")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(nowhere.status.code(), Some(1));
    let said = String::from_utf8_lossy(&nowhere.stderr);
    assert!(
        said.contains("no Docker daemon answers") && said.contains("scripts/localstack-host start"),
        "without an endpoint or Docker the error says how to get LocalStack: {said}"
    );
}

fn broken_kinds(edit: impl FnOnce(&Path)) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&kinds_pack(), dir.path());
    edit(dir.path());
    let errors = Pack::open(Some(dir.path())).expect_err("the pack is broken");
    errors
        .0
        .iter()
        .map(|e| {
            let file = Path::new(&e.file)
                .strip_prefix(dir.path())
                .map(|p| p.display().to_string())
                .unwrap_or(e.file.clone());
            format!(
                "{file}:{}: {} (fix: {})",
                e.line.unwrap_or(0),
                e.message,
                e.fix
            )
        })
        .collect()
}

fn edit_file(path: PathBuf, from: &str, to: &str) {
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{} has no {from}", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_lint_finds_missing_tags_variants_and_broken_links_and_questions() {
    let e = broken_kinds(|d| {
        edit_file(
            d.join("exercises/document-kinds/exercise.toml"),
            "dea_items = [\"4.3.K1\"]\n",
            "",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.starts_with("exercises/document-kinds/exercise.toml:0: dea_items is empty")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        std::fs::remove_dir_all(d.join("graders/document-kinds/wrong/other-key")).unwrap();
        std::fs::remove_dir_all(d.join("graders/document-kinds/wrong/not-valid-input")).unwrap();
    });
    assert!(
        e.iter().any(|m| m.starts_with("graders/document-kinds/wrong:0: 1 known-wrong variant(s); an exercise needs at least two")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        let lesson = d.join("lessons/kinds.md");
        let text = std::fs::read_to_string(&lesson).unwrap();
        let text = text.replace(
            "+++\n\nA test pack",
            "[sections]\n\"Nowhere\" = [\"4.3.S2\"]\n+++\n\nSee [the other](exercise:nope), [a](lesson:kinds), [b](#missing) and [c](./file.md).\n\nA test pack",
        );
        std::fs::write(&lesson, text).unwrap();
    });
    assert!(
        e.iter()
            .any(|m| m.contains("[sections] names \"Nowhere\", which is no heading")),
        "{e:#?}"
    );
    assert!(
        e.iter().any(|m| m
            .starts_with("lessons/kinds.md:11: broken link (exercise:nope): no exercise 'nope'")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("broken link (#missing): no heading with the anchor #missing")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("broken link (./file.md): a link keylab cannot open")),
        "{e:#?}"
    );
    assert!(!e.iter().any(|m| m.contains("(lesson:kinds)")), "{e:#?}");
    let e = broken_kinds(|d| {
        edit_file(
            d.join("lessons/questions/kinds.toml"),
            "text = \"C\"\ncorrect = true",
            "text = \"C\"",
        )
    });
    assert!(
        e.iter().any(|m| m.starts_with("lessons/questions/kinds.toml:20: question 'kinds-multiple' has 1 correct option(s) and choose = 2")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("lessons/questions/kinds.toml"),
            "Which two? (Choose two.)",
            "Which two?",
        );
        edit_file(
            d.join("lessons/questions/kinds.toml"),
            "item = \"4.3.S2\"",
            "item = \"4.3.S9\"",
        );
        edit_file(
            d.join("lessons/questions/kinds.toml"),
            "why = \"D is wrong.\"",
            "why = \"\"",
        );
        edit_file(
            d.join("lessons/questions/kinds.toml"),
            "id = \"kinds-multiple\"",
            "id = \"kinds-single\"",
        );
    });
    for want in [
        "does not say (Choose two.)",
        "item = '4.3.S9' is not one of the pack's objectives",
        "option 4 has no text or no why",
        "question id 'kinds-single' is also used at",
    ] {
        assert!(e.iter().any(|m| m.contains(want)), "{want}: {e:#?}");
    }
    let e = broken_kinds(|d| {
        edit_file(
            d.join("lessons/questions/kinds.toml"),
            "stem = \"Which one?\"",
            "stem = \"Which one?\"\nanswer = 1",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.starts_with("lessons/questions/kinds.toml:6: unknown field `answer`")),
        "{e:#?}"
    );
}

#[test]
fn questions_score_multiple_response_all_or_nothing() {
    let pack = Pack::open(Some(&kinds_pack())).expect("the kinds pack loads");
    let single = pack
        .questions
        .iter()
        .find(|q| q.id == "kinds-single")
        .unwrap();
    assert!(!single.is_multiple());
    assert!(single.is_right(&[0]));
    assert!(!single.is_right(&[1]));
    assert!(!single.is_right(&[0, 1]));
    let multiple = pack
        .questions
        .iter()
        .find(|q| q.id == "kinds-multiple")
        .unwrap();
    assert!(multiple.is_multiple());
    assert!(multiple.is_right(&[2, 0]));
    assert!(!multiple.is_right(&[0]), "one of two right is still wrong");
    assert!(
        !multiple.is_right(&[0, 2, 3]),
        "an extra wrong pick is wrong"
    );
}

#[test]
fn the_coverage_table_counts_the_repo_pack_and_the_readme_carries_it() {
    let pack = Pack::open(Some(&repo())).expect("the repo pack loads");
    let rows = keylab::pack::coverage::rows(&pack);
    assert_eq!(rows.len(), 8);
    for row in &rows {
        assert!(
            row.questions >= 5,
            "{} has {} questions",
            row.item,
            row.questions
        );
        assert!(
            !row.sections.is_empty(),
            "{} has no lesson section",
            row.item
        );
        assert!(!row.exercises.is_empty(), "{} has no exercise", row.item);
    }
    assert!(
        pack.questions.len() >= 120,
        "{} questions",
        pack.questions.len()
    );
    assert!(
        pack.exercises.len() >= 31,
        "{} exercises",
        pack.exercises.len()
    );
    let table = keylab::pack::coverage::to_markdown(&pack, &rows);
    let out = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(["coverage", "--pack"])
        .arg(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), table);
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&table),
        "README.md's coverage table is out of date: paste the output of `keylab coverage`"
    );
}

#[test]
fn pack_errors_name_the_file_the_line_and_a_fix() {
    let e = broken_kinds(|d| {
        edit_file(
            d.join("exercises/all-kinds/exercise.toml"),
            "hints =",
            "hint = [\"x\"]\nhints =",
        )
    });
    assert!(
        e.iter().any(|m| m
            .starts_with("exercises/all-kinds/exercise.toml:6: unknown field `hint`")
            && m.contains("fix: remove the field")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("graders/all-kinds.toml"),
            "state = \"Enabled\"",
            "state = \"Enabled\"\nstatus = \"x\"",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.starts_with("graders/all-kinds.toml:6: unknown field `status`")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("graders/all-kinds.toml"),
            "[check.alias]",
            "[check.file]\npath = \"x\"\n[check.alias]",
        )
    });
    assert!(
        e.iter().any(|m| m.starts_with(
            "graders/all-kinds.toml:9: check \"the alias points at the key\" has 2 kind tables"
        )),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("graders/all-kinds.toml"),
            "profile = \"partner-admin\"\naction = \"s3:GetObject\"",
            "profile = \"partner-admin\"\nservice = \"logs.us-east-1.amazonaws.com\"\naction = \"s3:GetObject\"",
        )
    });
    assert!(
        e.iter().any(
            |m| m.contains("request 1 names both of profile and service") && m.contains("not both")
        ),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("graders/masking-kinds.toml"),
            "[masking]\nrules = \"rules.toml\"\ninputs = [\"customers.csv\", \"orders.csv\", \"users.csv\"]\n",
            "",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.starts_with("graders/masking-kinds.toml:")
                && m.contains("masking check and the grader has no [masking] table")
                && m.contains("add [masking]")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("lessons/kinds.md"),
            "exercises = [\"all-kinds\", \"masking-kinds\", \"document-kinds\"]",
            "exercises = [\"all-kinds\", \"missing\"]",
        )
    });
    assert!(
        e.iter().any(|m| m.contains("exercises names 'missing'")
            && m.contains("create exercises/missing/exercise.toml")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("exercises/all-kinds/exercise.toml"),
            "hints = [\"one\", \"two\"]",
            "hints = [\"one\"]",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.contains("1 hint(s); an exercise needs at least two")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("graders/all-kinds/solution"),
            "{{bucket}}",
            "{{buckt}}",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.starts_with("graders/all-kinds/solution:2: {{buckt}} is not a variable")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| std::fs::remove_file(d.join("graders/all-kinds.toml")).unwrap());
    assert!(
        e.iter()
            .any(|m| m.contains("graders/all-kinds.toml")
                && m.contains("every exercise needs a grader")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("pack.toml"),
            "format_version = 1",
            "format_version = 2",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.contains("format_version 2 is not one this keylab reads")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| edit_file(d.join("lessons/kinds.md"), "+++\nid", "id"));
    assert!(
        e.iter()
            .any(|m| m.contains("lessons/kinds.md:1: a lesson starts with TOML front matter")),
        "{e:#?}"
    );
    let e = broken_kinds(|d| {
        edit_file(
            d.join("exercises/all-kinds/exercise.toml"),
            "difficulty = \"advanced\"",
            "difficulty = \"expert\"",
        )
    });
    assert!(
        e.iter()
            .any(|m| m.contains("exercise.toml:3: unknown variant `expert`")),
        "{e:#?}"
    );

    let data = tempfile::tempdir().unwrap();
    let missing = keylab(data.path(), &["list", "--pack", "/nonexistent/pack"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("point --pack at the folder"));
}

struct Lab {
    engine: Engine,
    _state: tempfile::TempDir,
    work: tempfile::TempDir,
}

async fn lab() -> Lab {
    let state = tempfile::tempdir().unwrap();
    let engine = Engine::start(EngineConfig::new(state.path()))
        .await
        .unwrap();
    Lab {
        engine,
        _state: state,
        work: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_speaks_the_aws_cli_forms() {
    use base64::Engine as _;
    let lab = lab().await;
    let backend = Backend::from_engine(&lab.engine);
    let ws = lab.work.path();
    std::fs::write(ws.join("p.txt"), b"secret payroll line").unwrap();
    let console = Console::new(&backend, ws, "owner-admin");
    let ok = |out: keylab::console::Outcome| {
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };

    let key_id = ok(console
        .run("aws kms create-key --description 'demo key' --query KeyMetadata.KeyId --output text")
        .await);
    let key_id = key_id.trim().to_string();
    assert_eq!(key_id.len(), 36, "{key_id}");
    ok(console
        .run(&format!(
            "aws kms create-alias --alias-name alias/demo --target-key-id {key_id}"
        ))
        .await);
    ok(console
        .run("aws kms encrypt --key-id alias/demo --plaintext fileb://p.txt --encryption-context Department=Finance,Project=X --output text --query CiphertextBlob > ct.b64")
        .await);
    assert!(
        std::fs::read_to_string(ws.join("ct.b64"))
            .unwrap()
            .trim()
            .len()
            > 40,
        "> writes the output"
    );
    let plain = ok(console
        .run(r#"aws kms decrypt --ciphertext-blob file://ct.b64 --encryption-context '{"Department":"Finance","Project":"X"}' --query Plaintext --output text"#)
        .await);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(plain.trim())
            .unwrap(),
        b"secret payroll line"
    );
    let wrong = console.run("aws kms decrypt --ciphertext-blob file://ct.b64 --encryption-context Department=finance").await;
    assert_eq!(wrong.code, 254);
    assert!(
        wrong.stderr.starts_with(
            "An error occurred (InvalidCiphertextException) when calling the Decrypt operation"
        ),
        "{}",
        wrong.stderr
    );
    assert_eq!(
        wrong.error_code.as_deref(),
        Some("InvalidCiphertextException")
    );
    assert!(
        wrong
            .stderr
            .contains("encryption context sent with it is not exactly the one"),
        "AWS's empty message gets keylab's reason on a line of its own: {}",
        wrong.stderr
    );

    for (line, expected) in [
        (
            "aws kms encrypt --key-id alias/demo --plaintext hello",
            "Invalid base64",
        ),
        (
            "aws kms encrypt --key-id alias/demo --plaintext fileb://p.txt --bogus 1",
            "Unknown options: --bogus, 1",
        ),
        (
            "aws kms encrypt --plaintext fileb://p.txt",
            "the following arguments are required: --key-id",
        ),
        (
            "aws kms encrypt-data --key-id x",
            "argument operation: Invalid choice",
        ),
        ("aws kmz list-keys", "argument command: Invalid choice"),
        (
            "aws kms list-aliases --query 'Aliases[?AliasName=='",
            "Bad value for --query",
        ),
        (
            "aws kms list-keys --output yaml",
            "Invalid choice, valid choices are",
        ),
        (
            "aws kms list-keys --limit many",
            "invalid int value: 'many'",
        ),
        (
            "aws kms encrypt --key-id alias/demo --plaintext fileb://missing.txt",
            "Unable to load paramfile fileb://missing.txt",
        ),
        (
            "aws kms list-keys --endpoint-url http://example.com",
            "the console talks to the lab backend only",
        ),
        ("ls -la", "ls takes no options"),
        ("sudo rm -rf /", "is not a console command"),
        ("aws kms encrypt --plaintext 'unclosed", "check the quotes"),
    ] {
        let out = console.run(line).await;
        assert_eq!(out.code, 252, "{line}: {out:?}");
        assert!(out.stderr.contains(expected), "{line}: {}", out.stderr);
    }
    let nobody = console.run("aws kms list-keys --profile nobody").await;
    assert!(
        nobody.stderr.contains("owner-analyst"),
        "the error lists the profiles: {}",
        nobody.stderr
    );

    let text = ok(console.run("aws kms list-aliases --output text").await);
    assert!(
        text.contains("ALIASES\t") && text.contains("alias/demo"),
        "{text}"
    );
    let table = ok(console
        .run("aws kms describe-key --key-id alias/demo --output table")
        .await);
    assert!(
        table.contains("| KeyMetadata.KeyState") && table.contains("Enabled"),
        "{table}"
    );
    let described: Value = serde_json::from_str(&ok(console
        .run("aws kms describe-key --key-id alias/demo")
        .await))
    .unwrap();
    assert!(
        described["KeyMetadata"]["CreationDate"]
            .as_str()
            .unwrap()
            .contains('T'),
        "dates print as ISO 8601"
    );
    ok(console
        .run(&format!("aws kms create-grant --key-id {key_id} --grantee-principal arn:aws:iam::111122223333:role/Analyst --operations Encrypt Decrypt --constraints EncryptionContextSubset={{Department=Finance}}"))
        .await);
    ok(console.run(&format!("aws kms tag-resource --key-id {key_id} --tags TagKey=team,TagValue=data TagKey=env,TagValue=lab")).await);
    let tags: Value = serde_json::from_str(&ok(console
        .run(&format!("aws kms list-resource-tags --key-id {key_id}"))
        .await))
    .unwrap();
    assert_eq!(tags["Tags"].as_array().unwrap().len(), 2);
    ok(console
        .run(&format!(
            "aws kms enable-key-rotation --key-id {key_id} --rotation-period-in-days 90"
        ))
        .await);
    assert_eq!(ok(console.run(&format!("aws kms get-key-rotation-status --key-id {key_id} --query RotationPeriodInDays --output text")).await).trim(), "90");
    let dry = console
        .run("aws kms generate-data-key --key-id alias/demo --key-spec AES_256 --dry-run")
        .await;
    assert_eq!(
        dry.error_code.as_deref(),
        Some("DryRunOperationException"),
        "{dry:?}"
    );

    // S3: s3api and s3 commands, with SSE-KMS and metadata.
    ok(console
        .run("aws s3api create-bucket --bucket console-bucket")
        .await);
    std::fs::write(ws.join("enc.json"), r#"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"alias/demo"},"BucketKeyEnabled":true}]}"#).unwrap();
    ok(console.run("aws s3api put-bucket-encryption --bucket console-bucket --server-side-encryption-configuration file://enc.json").await);
    let enc = ok(console.run("aws s3api get-bucket-encryption --bucket console-bucket --query ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm --output text").await);
    assert_eq!(enc.trim(), "aws:kms");
    let put: Value = serde_json::from_str(&ok(console.run("aws s3api put-object --bucket console-bucket --key a.txt --body p.txt --metadata team=data,stage=raw").await)).unwrap();
    assert_eq!(put["ServerSideEncryption"], "aws:kms");
    assert_eq!(put["BucketKeyEnabled"], true);
    let got: Value = serde_json::from_str(&ok(console
        .run("aws s3api get-object --bucket console-bucket --key a.txt back.txt")
        .await))
    .unwrap();
    assert_eq!(got["Metadata"]["team"], "data");
    assert_eq!(
        std::fs::read(ws.join("back.txt")).unwrap(),
        b"secret payroll line"
    );
    assert_eq!(
        ok(console
            .run("aws s3 cp p.txt s3://console-bucket/dir/")
            .await),
        "upload: p.txt to s3://console-bucket/dir/p.txt\n"
    );
    let listed = ok(console.run("aws s3 ls s3://console-bucket/dir/").await);
    assert!(listed.trim_end().ends_with(" dir/p.txt"), "{listed}");
    ok(console.run("aws s3 rm s3://console-bucket/dir/p.txt").await);
    let denied = console.run("aws s3api get-object --bucket console-bucket --key a.txt x.txt --profile partner-admin").await;
    assert_eq!(
        denied.error_code.as_deref(),
        Some("AccessDenied"),
        "{denied:?}"
    );

    // IAM inline policies through the engine, authorized like any request.
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    ok(console.run(&format!("aws iam put-role-policy --role-name Analyst --policy-name Read --policy-document '{doc}'")).await);
    let names = ok(console
        .run("aws iam list-role-policies --role-name Analyst --query PolicyNames --output text")
        .await);
    assert!(
        names.contains("Read") && names.contains("UseOwnKeys"),
        "{names}"
    );
    let refused = console.run(&format!("aws iam put-role-policy --profile owner-analyst --role-name Analyst --policy-name Mine --policy-document '{doc}'")).await;
    assert_eq!(
        refused.error_code.as_deref(),
        Some("AccessDenied"),
        "{refused:?}"
    );
    assert!(
        refused.stderr.contains("iam:PutRolePolicy"),
        "{}",
        refused.stderr
    );

    // Client-side encryption in the S3 Encryption Client v2 format.
    ok(console.run("crypto put-object --bucket console-bucket --key cse.bin --in p.txt --key-id alias/demo --context app=payroll").await);
    let head: Value = serde_json::from_str(&ok(console
        .run("aws s3api head-object --bucket console-bucket --key cse.bin")
        .await))
    .unwrap();
    assert_eq!(head["Metadata"]["x-amz-wrap-alg"], "kms+context");
    assert_eq!(head["Metadata"]["x-amz-cek-alg"], "AES/GCM/NoPadding");
    let matdesc: Value =
        serde_json::from_str(head["Metadata"]["x-amz-matdesc"].as_str().unwrap()).unwrap();
    assert_eq!(matdesc["aws:x-amz-cek-alg"], "AES/GCM/NoPadding");
    assert_eq!(matdesc["app"], "payroll");
    ok(console
        .run("aws s3api get-object --bucket console-bucket --key cse.bin raw.bin")
        .await);
    assert_ne!(
        std::fs::read(ws.join("raw.bin")).unwrap(),
        b"secret payroll line",
        "S3 stores ciphertext"
    );
    ok(console
        .run("crypto get-object --bucket console-bucket --key cse.bin --out cse.txt")
        .await);
    assert_eq!(
        std::fs::read(ws.join("cse.txt")).unwrap(),
        b"secret payroll line"
    );
    let blob: Value =
        serde_json::from_str(&ok(console.run("crypto inspect-blob --in ct.b64").await)).unwrap();
    assert!(
        blob["KeyArn"].as_str().unwrap().ends_with(&key_id),
        "{blob}"
    );
    let context: Value =
        serde_json::from_str(&ok(console.run("crypto context b=2,a=1").await)).unwrap();
    assert_eq!(context["BoundAs"], "a=1,b=2");
    let listing = ok(console.run("ls").await);
    assert!(
        listing.contains("cse.txt") && listing.contains("ct.b64"),
        "{listing}"
    );
    assert!(
        console
            .run("cat ../escape")
            .await
            .stderr
            .contains("inside the workspace")
    );
    assert!(ok(console.run("help").await).contains("crypto put-object"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_fail_with_a_message_on_malformed_files_and_never_crash() {
    let pack = Pack::open(Some(&kinds_pack())).unwrap();
    let root = tempfile::tempdir().unwrap();
    let session = Session::open(&pack, "all-kinds", root.path(), 5)
        .await
        .unwrap();
    let ws = session.workspace.clone();
    std::fs::write(ws.join("note.enc"), [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
    std::fs::write(ws.join("note.enc.meta.json"), "not json").unwrap();
    std::fs::write(ws.join("report.json"), "{\"unterminated\": ").unwrap();
    std::fs::write(ws.join("dk.json"), "{\"CiphertextBlob\": \"%%%\"}").unwrap();
    let results = run_checks(&session).await;
    let by_title = |t: &str| results.iter().find(|r| r.title.starts_with(t)).unwrap();
    let round = by_title("note.enc decrypts");
    assert_eq!(round.status, Status::Fail);
    assert!(
        round
            .message
            .contains("note.enc.meta.json is not envelope metadata"),
        "{}",
        round.message
    );
    let report = by_title("report.json is JSON");
    assert_eq!(report.status, Status::Fail);
    assert!(
        report.message.contains("report.json is not valid JSON"),
        "{}",
        report.message
    );
    assert_eq!(
        by_title("no plaintext data key").status,
        Status::Pass,
        "an undecryptable blob is not a leak"
    );
    std::fs::write(
        ws.join("dk.json"),
        "{\"Plaintext\": \"AAAA\", \"CiphertextBlob\": \"AAAA\"}",
    )
    .unwrap();
    let again = run_checks(&session).await;
    let leak = again
        .iter()
        .find(|r| r.title.starts_with("no plaintext"))
        .unwrap();
    assert_eq!(leak.status, Status::Fail);
    assert!(
        leak.message.contains("dk.json holds a plaintext data key"),
        "{}",
        leak.message
    );
    let simulate = again.iter().find(|r| r.kind == "simulate").unwrap();
    assert_eq!(simulate.status, Status::Fail);
    assert!(
        simulate
            .trace
            .as_deref()
            .unwrap_or_default()
            .contains("DENY s3:GetObject"),
        "{simulate:?}"
    );
    session.shutdown().await;
}

#[test]
fn learners_check_take_hints_reset_and_keep_progress() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let listed: Value = serde_json::from_slice(&keylab(d, &["list", "--json"]).stdout).unwrap();
    assert_eq!(listed["exercises"][18]["id"], "https-only-bucket");
    assert_eq!(listed["lessons"][3]["exercises"][0], "https-only-bucket");
    assert_eq!(listed["lessons"][0]["dea_items"][0], "4.3.K2");

    let first = keylab(d, &["check", "https-only-bucket", "--format", "json"]);
    assert_eq!(first.status.code(), Some(1), "a fresh exercise fails");
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_results_v3(&report);
    assert_eq!(report["status"], "fail");
    assert_eq!(report["tests"][0]["task_id"], 1);
    assert!(
        report["tests"][0]["output"]
            .as_str()
            .unwrap()
            .contains("ALLOW s3:GetObject"),
        "the trace is reported"
    );
    let progress: Value =
        serde_json::from_slice(&keylab(d, &["progress", "--json"]).stdout).unwrap();
    assert_eq!(
        report["x-keylab"]["seed"], progress["seed"],
        "the seed is recorded with the result"
    );
    assert_eq!(progress["exercises"]["https-only-bucket"]["attempts"], 1);

    for n in 1..=4 {
        let hint =
            String::from_utf8_lossy(&keylab(d, &["hint", "https-only-bucket"]).stdout).into_owned();
        let shown = n.min(3);
        assert_eq!(hint.matches("Hint ").count(), shown, "{hint}");
        assert_eq!(hint.contains("last hint"), shown == 3);
    }

    let workspace = d.join("labs/https-only-bucket/workspace");
    let readme = std::fs::read_to_string(workspace.join("README.md")).unwrap();
    assert!(
        !readme.contains("{{"),
        "instructions are filled in: {readme}"
    );
    let solution = repo().join("graders/https-only-bucket/solution");
    let run = keylab(
        d,
        &[
            "run",
            "https-only-bucket",
            "--script",
            solution.to_str().unwrap(),
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let passed = keylab(d, &["check", "https-only-bucket"]);
    assert_eq!(
        passed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passed.stdout)
    );
    let text = String::from_utf8_lossy(&passed.stdout);
    assert!(
        text.contains("PASS: 4 of 4 passed")
            && text.contains("explicit Deny overrides every Allow"),
        "{text}"
    );
    let progress: Value =
        serde_json::from_slice(&keylab(d, &["progress", "--json"]).stdout).unwrap();
    let entry = &progress["exercises"]["https-only-bucket"];
    assert_eq!(entry["hints_used"], 3);
    assert_eq!(entry["attempts"], 2);
    assert!(entry["passed_at"].is_string());

    let one = keylab(
        d,
        &[
            "run",
            "https-only-bucket",
            "--",
            "aws",
            "s3api",
            "get-bucket-policy",
            "--bucket",
            "{{bucket}}",
            "--query",
            "Policy",
            "--output",
            "text",
        ],
    );
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(String::from_utf8_lossy(&one.stdout).contains("aws:SecureTransport"));
    let reset = keylab(d, &["reset", "https-only-bucket"]);
    assert_eq!(reset.status.code(), Some(0));
    let after = keylab(d, &["check", "https-only-bucket"]);
    assert_eq!(
        after.status.code(),
        Some(1),
        "reset puts the backend state back to the setup"
    );
    assert!(workspace.join("report.csv").is_file(), "and the workspace");

    let env = String::from_utf8_lossy(
        &keylab(
            d,
            &["env", "https-only-bucket", "--profile", "partner-admin"],
        )
        .stdout,
    )
    .into_owned();
    assert!(
        env.contains("export AWS_ACCESS_KEY_ID=AKIAPARTNERADMIN0001"),
        "{env}"
    );
    assert!(
        env.contains("export AWS_CA_BUNDLE=") && env.contains("keylab engine serve --state-dir"),
        "{env}"
    );

    // Another learner gets other names.
    let other = tempfile::tempdir().unwrap();
    keylab(other.path(), &["check", "https-only-bucket"]);
    let theirs = std::fs::read_to_string(
        other
            .path()
            .join("labs/https-only-bucket/workspace/README.md"),
    )
    .unwrap();
    assert_ne!(theirs, readme);

    let unknown = keylab(d, &["check", "no-such-exercise"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains(
        "the exercises are: bucket-default-cmk, deny-unencrypted-uploads, client-side-upload"
    ));
}
