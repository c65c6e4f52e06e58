//! Classroom workshops and pack authoring through the binary: ten learners in a workshop each
//! solve (or not) exercises with their own seed and hand in signed results; the instructor's
//! `keylab class collect` builds the class table and rejects a tampered file, a file made with
//! another pack, and a file whose recorded verdict the evidence does not support. Then a
//! scaffolded pack passes `keylab pack lint` and `keylab verify` (JUnit and the CI summary), as a
//! folder and as a `.tar.gz`, and a pack that needs what a backend lacks is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keylab::pack::Capability;
use serde_json::Value;

const WORKSHOP: &str = "dea-2026-11";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn keylab(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(args)
        .env("KEYLAB_DATA_DIR", data)
        .env_remove("KEYLAB_WORKSHOP")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("keylab runs")
}

fn ok(out: Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// A learner of the workshop: `keylab --workshop … ARGS` with their own data directory.
fn learner(data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--workshop", WORKSHOP];
    all.extend_from_slice(args);
    keylab(data, &all)
}

/// Writes the EMR security configuration into the learner's workspace, with the names their
/// setup made; `break_it` writes the switches as strings (a known-wrong variant, which the
/// API would reject: a check that re-runs from the file alone).
fn write_emr_document(data: &Path, break_it: bool) {
    let lab = data
        .join("workshops")
        .join(WORKSHOP)
        .join("labs/emr-security-config");
    let setup: Value =
        serde_json::from_slice(&std::fs::read(lab.join("setup.json")).unwrap()).unwrap();
    let mut text = std::fs::read_to_string(
        repo().join("graders/emr-security-config/solution/security-configuration.json"),
    )
    .unwrap();
    for (k, v) in setup["vars"].as_object().unwrap() {
        text = text.replace(&format!("{{{{{k}}}}}"), v.as_str().unwrap());
    }
    if break_it {
        text = text.replace(
            "\"EnableAtRestEncryption\": true",
            "\"EnableAtRestEncryption\": \"true\"",
        );
    }
    std::fs::write(lab.join("workspace/security-configuration.json"), text).unwrap();
}

#[test]
fn a_classroom_of_ten_is_collected_and_bad_results_are_rejected() {
    let class = tempfile::tempdir().unwrap();
    let results = class.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let solution = repo().join("graders/first-cmk/solution");
    let wrong = repo().join("graders/first-cmk/wrong/rotation-left-off");
    for i in 0..10 {
        let data = class.path().join(format!("learner-{i}"));
        let script = if i < 7 { &solution } else { &wrong };
        if i % 3 == 0 {
            ok(learner(&data, &["hint", "first-cmk"]));
        }
        ok(learner(
            &data,
            &["run", "first-cmk", "--script", script.to_str().unwrap()],
        ));
        learner(&data, &["check", "first-cmk"]);
        if i < 4 {
            ok(learner(&data, &["reset", "emr-security-config"]));
            write_emr_document(&data, i == 3);
            learner(&data, &["check", "emr-security-config"]);
        }
        let file = results.join(format!("learner-{i}.json"));
        let out = ok(learner(
            &data,
            &[
                "submit",
                "--name",
                &format!("Learner {i}"),
                "-o",
                file.to_str().unwrap(),
            ],
        ));
        assert!(out.contains("signed with your key"), "{out}");
        // Names come from each learner's own seed.
        let progress: Value = serde_json::from_slice(
            &std::fs::read(data.join("workshops").join(WORKSHOP).join("progress.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(progress["learner"], format!("Learner {i}"));
    }
    let seeds: std::collections::BTreeSet<u64> = (0..10)
        .map(|i| {
            let r: Value = serde_json::from_slice(
                &std::fs::read(results.join(format!("learner-{i}.json"))).unwrap(),
            )
            .unwrap();
            r["payload"]["seed"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(seeds.len(), 10, "every learner has a seed of their own");

    let instructor = class.path().join("instructor");
    let out = keylab(
        &instructor,
        &[
            "class",
            "collect",
            results.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{json:#}");
    assert_eq!(json["workshop"], WORKSHOP);
    assert_eq!(json["learners"].as_array().unwrap().len(), 10, "{json:#}");
    assert!(json["rejected"].as_array().unwrap().is_empty());
    let first_cmk = json["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "first-cmk")
        .unwrap();
    assert_eq!(first_cmk["opened"], 10);
    assert_eq!(first_cmk["passed"], 7);
    assert_eq!(first_cmk["hinted"], 4);
    let emr = json["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "emr-security-config")
        .unwrap();
    assert_eq!(
        (emr["opened"].as_u64(), emr["passed"].as_u64()),
        (Some(4), Some(3))
    );
    let top = &json["checks"][0];
    assert_eq!(top["exercise"], "first-cmk");
    assert_eq!(top["title"], "automatic rotation is on");
    assert_eq!(
        top["learners"], 3,
        "learners 7, 8 and 9 left rotation off: {json:#}"
    );
    let learner0 = &json["learners"][0];
    assert_eq!(learner0["learner"], "Learner 0");
    assert!(
        learner0["checks_rerun"].as_u64().unwrap() >= 1,
        "the document check ran again"
    );
    let table = ok(keylab(
        &instructor,
        &["class", "collect", results.to_str().unwrap()],
    ));
    assert!(
        table.contains("10 results accepted, 0 superseded, 0 rejected"),
        "{table}"
    );
    assert!(table.contains("Checks learners failed"), "{table}");
    let csv = ok(keylab(
        &instructor,
        &[
            "class",
            "collect",
            results.to_str().unwrap(),
            "--format",
            "csv",
        ],
    ));
    assert!(
        csv.starts_with("learner,key,exercise,status,attempts,hints,minutes,"),
        "{csv}"
    );
    assert_eq!(
        csv.lines()
            .filter(|l| l.contains(",first-cmk,passed,"))
            .count(),
        7
    );

    // A tampered file: one learner turns a failure into a pass by hand.
    let original = std::fs::read_to_string(results.join("learner-8.json")).unwrap();
    let tampered = original.replacen(
        "\"passed_at\": null",
        "\"passed_at\": \"2026-11-23T10:00:00Z\"",
        1,
    );
    assert_ne!(tampered, original);
    std::fs::write(results.join("learner-8.json"), tampered).unwrap();
    // A file made with another pack.
    let other = class.path().join("other");
    let kinds = repo().join("tests/data/packs/kinds");
    ok(keylab(
        &other,
        &[
            "--workshop",
            WORKSHOP,
            "--pack",
            kinds.to_str().unwrap(),
            "--trust",
            "submit",
            "--name",
            "Elsewhere",
            "-o",
            results.join("other-pack.json").to_str().unwrap(),
        ],
    ));
    // A verdict the evidence does not support: learner 3's broken document, recorded as passing
    // in their progress file, then signed by submit.
    let l3 = class.path().join("learner-3");
    let progress_path = l3.join("workshops").join(WORKSHOP).join("progress.json");
    let mut progress: Value =
        serde_json::from_slice(&std::fs::read(&progress_path).unwrap()).unwrap();
    for check in progress["exercises"]["emr-security-config"]["checks"]
        .as_array_mut()
        .unwrap()
    {
        check["status"] = "pass".into();
    }
    progress["exercises"]["emr-security-config"]["passed_at"] = "2026-11-23T10:00:00Z".into();
    std::fs::write(&progress_path, serde_json::to_vec(&progress).unwrap()).unwrap();
    ok(learner(
        &l3,
        &[
            "submit",
            "-o",
            results.join("learner-3.json").to_str().unwrap(),
        ],
    ));

    let out = keylab(
        &instructor,
        &[
            "class",
            "collect",
            results.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(!out.status.success(), "rejections make collect fail");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected: Vec<(String, String)> = json["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 3, "{rejected:#?}");
    let reason = |file: &str| {
        rejected
            .iter()
            .find(|r| r.0 == file)
            .map(|r| r.1.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("learner-8.json").contains("tampered: the signature does not match"),
        "{rejected:#?}"
    );
    assert!(
        reason("other-pack.json").contains("made with another pack: check-kinds"),
        "{rejected:#?}"
    );
    assert!(
        reason("learner-3.json")
            .contains("was recorded as pass but is fail when run again from the evidence"),
        "{rejected:#?}"
    );
    assert_eq!(json["learners"].as_array().unwrap().len(), 8);
}

#[test]
fn submit_explains_what_it_needs() {
    let data = tempfile::tempdir().unwrap();
    let out = keylab(data.path(), &["submit"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("run it with --workshop ID"));
    let out = keylab(data.path(), &["--workshop", WORKSHOP, "submit"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("give your name once with --name"));
    let out = keylab(data.path(), &["--workshop", "../up", "progress"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--workshop \"../up\": use 1 to 64 letters")
    );
}

#[test]
fn a_scaffolded_pack_lints_and_verifies_as_a_folder_and_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("my-pack");
    let data = dir.path().join("data");
    let out = ok(keylab(&data, &["pack", "new", pack.to_str().unwrap()]));
    assert!(out.contains("made the pack my-pack"), "{out}");
    assert!(pack.join(".github/workflows/keylab.yml").is_file());
    let workflow = std::fs::read_to_string(pack.join(".github/workflows/keylab.yml")).unwrap();
    assert!(workflow.contains("keylab verify --pack ."), "{workflow}");
    let again = keylab(&data, &["pack", "new", pack.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    let lint = ok(keylab(
        &data,
        &["pack", "lint", "--pack", pack.to_str().unwrap()],
    ));
    assert!(
        lint.contains("1 lesson, 1 exercise, 2 questions; no problems"),
        "{lint}"
    );
    let junit = dir.path().join("verify.xml");
    let summary = dir.path().join("summary.md");
    let out = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args([
            "verify",
            "--pack",
            pack.to_str().unwrap(),
            "--trust",
            "--junit",
            junit.to_str().unwrap(),
        ])
        .env("KEYLAB_DATA_DIR", &data)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let text = ok(out);
    assert!(text.contains("PASS: 4 of 4 passed"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"4\" failures=\"0\" errors=\"0\""),
        "{xml}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("## keylab verify: passed") && md.contains("| ✅ | first-key [engine] | 4/4 |"),
        "{md}"
    );

    // The same pack as the .tar.gz an instructor hands out: same content, same hash.
    let archive = dir.path().join("my-pack.tar.gz");
    let status = Command::new("tar")
        .args([
            "czf",
            archive.to_str().unwrap(),
            "-C",
            dir.path().to_str().unwrap(),
            "my-pack",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let from_archive = ok(keylab(
        &data,
        &["pack", "lint", "--pack", archive.to_str().unwrap()],
    ));
    let hash = |s: &str| {
        s.split("sha256 ")
            .nth(1)
            .unwrap()
            .trim()
            .trim_end_matches(')')
            .to_string()
    };
    assert_eq!(hash(&from_archive), hash(&lint));
    ok(keylab(
        &data,
        &["verify", "--trust", "--pack", archive.to_str().unwrap()],
    ));

    // A broken solution fails verify with a non-zero exit and says which stage.
    std::fs::write(
        pack.join("graders/first-key/solution"),
        "aws kms list-keys\n",
    )
    .unwrap();
    let refused = keylab(&data, &["verify", "--pack", pack.to_str().unwrap()]);
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("or pass --trust (for CI)"),
        "a pack that is not the built-in one is not run without the learner's trust"
    );
    let out = keylab(
        &data,
        &["verify", "--trust", "--pack", pack.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  solution passes"));

    // Declared capabilities: unknown ones are refused by the lint.
    let manifest = std::fs::read_to_string(pack.join("pack.toml")).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        manifest.replace("capabilities = []", "capabilities = [\"telepathy\"]"),
    )
    .unwrap();
    let out = keylab(&data, &["pack", "lint", "--pack", pack.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pack.toml:")
            && err.contains("unknown variant `telepathy`, expected one of `key_policies`")
            && err.contains("use one of the names listed"),
        "{err}"
    );
}

#[test]
fn a_pack_that_needs_what_a_backend_lacks_is_refused() {
    let mut pack = keylab::pack::Pack::embedded().unwrap();
    let mut weak = keylab::backend::Capabilities::all();
    weak.set(Capability::BucketPolicies, false);
    let weak = |c| weak.has(c);
    assert_eq!(
        pack.refuses(weak, "localstack"),
        None,
        "the course declares no pack-wide need"
    );
    pack.manifest.capabilities = vec![Capability::BucketPolicies, Capability::Tls];
    let why = pack.refuses(weak, "localstack").unwrap();
    assert!(
        why.contains("needs bucket_policies which localstack does not provide"),
        "{why}"
    );
    assert!(why.contains("--backend engine"), "{why}");
    assert_eq!(pack.refuses(|_| true, "engine"), None);
}

#[test]
fn the_class_table_switches_tabs_by_keys_and_draws_each() {
    use keylab::front::tui::class_view::ClassView;
    use keylab::workshop::class::{
        CheckRow, Class, ExerciseRow, FailingCheck, LearnerExercise, LearnerRow, MistakeRow,
        Rejected, Superseded,
    };
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .unwrap()
        .to_utc();
    let stuck = LearnerExercise {
        id: "first-cmk".into(),
        passed: false,
        pass_shown_by: String::new(),
        attempts: 3,
        hints: 1,
        minutes: Some(12.0),
        first_opened_at: Some(at),
        passed_at: None,
        failing: vec![FailingCheck {
            index: 1,
            title: "automatic rotation is on".into(),
        }],
        starting_state: false,
        known_mistakes: vec!["rotation-left-off".into()],
        last_active: Some(at),
    };
    let done = LearnerExercise {
        passed: true,
        pass_shown_by: "on trust".into(),
        failing: vec![],
        known_mistakes: vec![],
        passed_at: Some("2026-11-23T10:07:00Z".into()),
        minutes: Some(7.0),
        ..stuck.clone()
    };
    let learner = |name: &str, passed: &[&str], on: Option<&LearnerExercise>| LearnerRow {
        file: format!("{name}.json"),
        learner: name.into(),
        key: "0123456789abcdef".into(),
        submitted_at: at,
        passed: passed.iter().map(|s| s.to_string()).collect(),
        in_progress: on.iter().map(|x| x.id.clone()).collect(),
        hints: 1,
        checks_rerun: 2,
        unverified: vec![],
        notes: vec![],
        exercises: match on {
            Some(x) => vec![x.clone()],
            None => vec![done.clone()],
        },
        working_on: on.cloned(),
    };
    let class = Class {
        workshop: Some(WORKSHOP.into()),
        pack: "keylab-core".into(),
        pack_hash: "6b36ef067eab57834cad7fd48a4e964ff8b73d71ba3f972ed1f03acaf9ee7ebb".into(),
        course: vec!["first-cmk".into()],
        learners: vec![
            learner("Ada", &["first-cmk"], None),
            learner("Grace", &[], Some(&stuck)),
        ],
        exercises: vec![ExerciseRow {
            id: "first-cmk".into(),
            passed: 1,
            opened: 2,
            hinted: 2,
            mean_hints: 1.0,
            mean_attempts: 2.5,
            median_minutes: Some(7.0),
            working: vec!["Grace".into()],
        }],
        checks: vec![CheckRow {
            exercise: "first-cmk".into(),
            index: 1,
            title: "automatic rotation is on".into(),
            misconception: "rotation is a key setting".into(),
            learners: 1,
        }],
        mistakes: vec![MistakeRow {
            exercise: "first-cmk".into(),
            variant: "rotation-left-off".into(),
            checks: stuck.failing.clone(),
            now: vec!["Grace".into()],
            ever: 1,
        }],
        superseded: vec![Superseded {
            file: "grace-early.json".into(),
            submitted_at: at,
            by: "Grace.json".into(),
        }],
        rejected: vec![Rejected {
            file: "mallory.json".into(),
            reason: "tampered: the signature does not match the content".into(),
        }],
    };
    let mut view = ClassView::new(class, keylab::front::tui::theme::Theme::Mono);
    let draw = |view: &ClassView| {
        let mut terminal = Terminal::new(TestBackend::new(100, 16)).unwrap();
        terminal.draw(|f| view.draw(f)).unwrap();
        format!("{:?}", terminal.backend().buffer())
    };
    insta::assert_snapshot!("class_table_learners_100x16", draw(&view));
    assert!(!view.key("j"));
    assert_eq!(view.selected, 1);
    assert!(!view.key("j"), "the selection stops at the last row");
    assert_eq!(view.selected, 1);
    view.key("<tab>");
    assert!(draw(&view).contains("first-cmk") && draw(&view).contains("2.5"));
    view.key("<tab>");
    assert!(draw(&view).contains("`rotation-left-off`"));
    view.key("<tab>");
    assert!(draw(&view).contains("#2 automatic rotation is on"));
    view.key("<tab>");
    let files = draw(&view);
    assert!(files.contains("tampered: the signature does not match"));
    assert!(files.contains("superseded"));
    view.key("<tab>");
    assert_eq!(view.tab, 0, "tabs wrap around");
    view.key("<S-tab>");
    assert_eq!(view.tab, 4);
    assert!(view.key("q"), "q leaves");
}

/// A learner who solves the EMR exercise honestly and hands in results named `name`.
fn honest(dir: &Path, name: &str, results: &Path) -> PathBuf {
    ok(learner(dir, &["reset", "emr-security-config"]));
    write_emr_document(dir, false);
    learner(dir, &["check", "emr-security-config"]);
    let file = results.join(format!("{}.json", name.len()));
    ok(learner(
        dir,
        &["submit", "--name", name, "-o", file.to_str().unwrap()],
    ));
    file
}

fn fingerprint_of(file: &Path) -> String {
    let r: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    keylab::workshop::results::fingerprint(r["public_key"].as_str().unwrap())
}

#[test]
fn forged_copied_and_unknown_results_are_rejected_and_names_are_shown_as_text() {
    let class = tempfile::tempdir().unwrap();
    let results = class.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let ws = |who: &str| class.path().join(who).join("workshops").join(WORKSHOP);

    // Two honest learners; one of them has a name meant to attack the instructor's terminal
    // and spreadsheet.
    let ada = honest(&class.path().join("ada"), "Ada", &results);
    let evil_name = "=HYPERLINK(\"http://x.test\",\"ok\")\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let mallory = honest(&class.path().join("mallory"), evil_name, &results);

    // A forged pass: progress edited to claim the exercise without any check or evidence.
    let forger = class.path().join("forger");
    ok(learner(&forger, &["hint", "first-cmk"]));
    let path = ws("forger").join("progress.json");
    let mut progress: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    progress["exercises"]["emr-security-config"] = serde_json::json!({
        "attempts": 1, "hints_used": 0, "passed_at": "2026-11-23T10:00:00Z"
    });
    std::fs::write(&path, serde_json::to_vec(&progress).unwrap()).unwrap();
    ok(learner(
        &forger,
        &[
            "submit",
            "--name",
            "Forger",
            "-o",
            results.join("forged.json").to_str().unwrap(),
        ],
    ));

    // Copied progress: Ada's progress signed with another learner's own key.
    let copier = class.path().join("copier");
    std::fs::create_dir_all(ws("copier")).unwrap();
    std::fs::copy(
        ws("ada").join("progress.json"),
        ws("copier").join("progress.json"),
    )
    .unwrap();
    ok(learner(
        &copier,
        &[
            "submit",
            "--name",
            "Copier",
            "-o",
            results.join("copied.json").to_str().unwrap(),
        ],
    ));

    // A learner the instructor does not know, honest otherwise.
    let stranger = honest(&class.path().join("stranger"), "Stranger", &results);

    let roster = class.path().join("roster.txt");
    std::fs::write(
        &roster,
        format!(
            "# fingerprint, name\n{} Ada\n{},Mallory\n",
            fingerprint_of(&ada),
            fingerprint_of(&mallory)
        ),
    )
    .unwrap();
    let instructor = class.path().join("instructor");
    let collect = |format: &str| {
        keylab(
            &instructor,
            &[
                "class",
                "collect",
                results.to_str().unwrap(),
                "--roster",
                roster.to_str().unwrap(),
                "--format",
                format,
            ],
        )
    };
    let out = collect("json");
    assert!(!out.status.success(), "rejections make collect fail");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = |file: &Path| {
        let name = file.file_name().unwrap().to_str().unwrap();
        json["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == name)
            .map(|r| r["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name} should be rejected: {json:#}"))
    };
    assert!(
        reason(&results.join("forged.json")).contains("not on the roster")
            || reason(&results.join("forged.json")).contains("without the evidence"),
        "{json:#}"
    );
    assert!(
        reason(&stranger).contains("is not on the roster"),
        "{json:#}"
    );
    let accepted: Vec<&str> = json["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    assert_eq!(accepted.len(), 2, "only Ada and Mallory: {json:#}");

    // Without the roster, each forgery is rejected for what it is.
    let out = keylab(
        &instructor,
        &[
            "class",
            "collect",
            results.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = |name: &str| {
        json["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == name)
            .map(|r| r["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name} should be rejected: {json:#}"))
    };
    assert!(
        reason("forged.json").contains("recorded as passed without the evidence"),
        "{json:#}"
    );
    assert!(
        reason("copied.json").contains("is not the seed of its key"),
        "{json:#}"
    );
    assert_eq!(json["learners"].as_array().unwrap().len(), 3, "{json:#}");

    // The hostile name reaches the terminal as text and the spreadsheet as text.
    let table = String::from_utf8(collect("table").stdout).unwrap();
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.contains("\\x1b]0;pwned\\x07"), "{table}");
    let csv = String::from_utf8(collect("csv").stdout).unwrap();
    assert!(!csv.contains('\u{1b}'), "{csv:?}");
    let row = csv
        .lines()
        .find(|l| l.contains("HYPERLINK"))
        .expect("Mallory's row");
    assert!(
        row.starts_with("\"'=HYPERLINK("),
        "the formula is neutralised: {row}"
    );
}
