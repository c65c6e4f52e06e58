//! The instructor's class view with a simulated class: a learner who hands in twice counts with
//! the latest file; a folder of several workshops needs the id; the table, the TUI and the CSV
//! (long and wide) say what each learner is working on and which known mistake their failing
//! checks match, and do not count starting-state failures as mistakes; results made before a
//! lesson sentence changed are still accepted; `class watch` shows files as they arrive.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const WORKSHOP: &str = "dea-2026-12";

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

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// `keylab --workshop W ARGS` with the learner's own data directory.
fn learner_in(workshop: &str, data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--workshop", workshop];
    all.extend_from_slice(args);
    keylab(data, &all)
}

fn learner(data: &Path, args: &[&str]) -> Output {
    learner_in(WORKSHOP, data, args)
}

fn script(name: &str) -> String {
    repo()
        .join("graders/first-cmk")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn submit(data: &Path, name: &str, file: &Path) {
    ok(learner(
        data,
        &["submit", "--name", name, "-o", file.to_str().unwrap()],
    ));
}

fn collect_json(instructor: &Path, dir: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec![
        "class",
        "collect",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = keylab(instructor, &args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

#[test]
fn a_resubmission_keeps_the_latest_and_mixed_workshops_need_the_id() {
    let class = tempfile::tempdir().unwrap();
    let results = class.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let ada = class.path().join("ada");
    // First hand-in: rotation left off. The file's name sorts after the second's.
    ok(learner(
        &ada,
        &[
            "run",
            "first-cmk",
            "--script",
            &script("wrong/rotation-left-off"),
        ],
    ));
    learner(&ada, &["check", "first-cmk"]);
    submit(&ada, "Ada", &results.join("z-first.json"));
    // Then she fixes it and hands in again.
    ok(learner(&ada, &["reset", "first-cmk"]));
    ok(learner(
        &ada,
        &["run", "first-cmk", "--script", &script("solution")],
    ));
    ok(learner(&ada, &["check", "first-cmk"]));
    submit(&ada, "Ada", &results.join("a-second.json"));

    let instructor = class.path().join("instructor");
    let (out, json) = collect_json(&instructor, &results, &[]);
    assert!(
        out.status.success(),
        "a superseded file is no error: {json:#}"
    );
    assert!(json["rejected"].as_array().unwrap().is_empty(), "{json:#}");
    let learners = json["learners"].as_array().unwrap();
    assert_eq!(learners.len(), 1, "{json:#}");
    assert_eq!(learners[0]["file"], "a-second.json");
    assert_eq!(learners[0]["passed"][0], "first-cmk", "the latest counts");
    assert_eq!(json["superseded"][0]["file"], "z-first.json");
    assert_eq!(json["superseded"][0]["by"], "a-second.json");
    let table = ok(keylab(
        &instructor,
        &["class", "collect", results.to_str().unwrap()],
    ));
    assert!(table.contains("1 superseded, 0 rejected"), "{table}");
    assert!(
        table.contains("z-first.json: submitted") && table.contains("replaced by a-second.json"),
        "{table}"
    );

    // A stray file of another workshop: the id must be given.
    let stray = class.path().join("stray");
    learner_in("other-ws", &stray, &["hint", "first-cmk"]);
    ok(learner_in(
        "other-ws",
        &stray,
        &[
            "submit",
            "--name",
            "Stray",
            "-o",
            results.join("0-stray.json").to_str().unwrap(),
        ],
    ));
    let out = keylab(
        &instructor,
        &["class", "collect", results.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "the results files are from 2 workshops: {WORKSHOP} (2 files), other-ws (1 file)"
        )) && err.contains("--workshop ID"),
        "{err}"
    );
    let (out, json) = collect_json(&instructor, &results, &["--workshop", WORKSHOP]);
    assert!(!out.status.success(), "the stray file is rejected");
    assert_eq!(json["learners"][0]["learner"], "Ada");
    assert_eq!(json["rejected"][0]["file"], "0-stray.json");
    assert!(
        json["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("from workshop \"other-ws\", not \"dea-2026-12\""),
        "{json:#}"
    );
}

/// A class of four: Ada made the known mistake `rotation-left-off`; Ben checked right after
/// opening (the starting state); Cy solved first-cmk; Di solved it and then asked for a hint on
/// the next exercise.
fn simulated_class(root: &Path) -> PathBuf {
    let results = root.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let ada = root.join("ada");
    ok(learner(
        &ada,
        &[
            "run",
            "first-cmk",
            "--script",
            &script("wrong/rotation-left-off"),
        ],
    ));
    learner(&ada, &["check", "first-cmk"]);
    ok(learner(&ada, &["hint", "first-cmk"]));
    submit(&ada, "Ada", &results.join("ada.json"));
    let ben = root.join("ben");
    learner(&ben, &["check", "first-cmk"]);
    submit(&ben, "Ben", &results.join("ben.json"));
    for (who, name) in [("cy", "Cy"), ("di", "Di")] {
        let data = root.join(who);
        ok(learner(
            &data,
            &["run", "first-cmk", "--script", &script("solution")],
        ));
        ok(learner(&data, &["check", "first-cmk"]));
        if who == "di" {
            ok(learner(&data, &["hint", "bucket-default-cmk"]));
        }
        submit(&data, name, &results.join(format!("{who}.json")));
    }
    results
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list:#}"))
}

#[test]
fn the_class_table_tui_and_csv_show_working_on_and_known_mistakes() {
    let root = tempfile::tempdir().unwrap();
    let results = simulated_class(root.path());
    let instructor = root.path().join("instructor");
    let (out, json) = collect_json(&instructor, &results, &[]);
    assert!(out.status.success(), "{}", text(&out));

    let ada = find(&json["learners"], "learner", "Ada");
    let on = &ada["working_on"];
    assert_eq!(on["id"], "first-cmk");
    assert_eq!(
        on["known_mistakes"],
        serde_json::json!(["rotation-left-off"]),
        "{json:#}"
    );
    assert_eq!(on["hints"], 1);
    assert_eq!(on["attempts"], 1);
    assert_eq!(on["starting_state"], false);
    assert_eq!(
        on["failing"][0]["title"], "automatic rotation is on",
        "{on:#}"
    );
    let ben = find(&json["learners"], "learner", "Ben");
    assert_eq!(ben["working_on"]["id"], "first-cmk");
    assert_eq!(ben["working_on"]["starting_state"], true, "{json:#}");
    assert_eq!(ben["working_on"]["known_mistakes"], serde_json::json!([]));
    assert_eq!(
        find(&json["learners"], "learner", "Cy")["working_on"],
        Value::Null
    );
    let di = find(&json["learners"], "learner", "Di");
    assert_eq!(di["working_on"]["id"], "bucket-default-cmk");

    let first = find(&json["exercises"], "id", "first-cmk");
    assert_eq!(first["opened"], 4);
    assert_eq!(first["passed"], 2);
    assert_eq!(first["working"], serde_json::json!(["Ada", "Ben"]));
    let mistake = find(&json["mistakes"], "variant", "rotation-left-off");
    assert_eq!(mistake["exercise"], "first-cmk");
    assert_eq!(mistake["now"], serde_json::json!(["Ada"]));
    // Ben's starting-state failures are no misconception: only Ada failed rotation.
    let rotation = find(&json["checks"], "title", "automatic rotation is on");
    assert_eq!(rotation["learners"], 1, "{json:#}");
    assert!(
        rotation["misconception"]
            .as_str()
            .unwrap()
            .contains("enable-key-rotation"),
        "every built-in check names its misconception: {rotation:#}"
    );

    let table = ok(keylab(
        &instructor,
        &["class", "collect", results.to_str().unwrap()],
    ));
    let ada_line = table.lines().find(|l| l.starts_with("Ada ")).unwrap();
    assert!(
        ada_line.contains("first-cmk")
            && ada_line.contains(
                "1 failing check · matches known mistake `rotation-left-off` · 1 attempt · 1 hint"
            ),
        "{table}"
    );
    let ben_line = table.lines().find(|l| l.starts_with("Ben ")).unwrap();
    assert!(ben_line.contains("(starting state)"), "{table}");
    assert!(table.contains("Who is on which exercise now:"), "{table}");
    assert!(
        table.contains("first-cmk `rotation-left-off` (fails #2): 1 at some attempt; now: Ada"),
        "{table}"
    );

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
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "learner,key,exercise,status,attempts,hints,minutes,first_opened,passed_at,failing_checks,known_mistakes,pass_shown_by,file,note"
    );
    let ada_row = csv.lines().find(|l| l.starts_with("Ada,")).unwrap();
    let cells: Vec<&str> = ada_row.split(',').collect();
    assert_eq!(
        cells[2..6],
        ["first-cmk", "working on", "1", "1"],
        "{ada_row}"
    );
    assert!(cells[7].ends_with('Z'), "first opened is a time: {ada_row}");
    assert_eq!(cells[9], "#2 automatic rotation is on");
    assert_eq!(cells[10], "rotation-left-off");
    let cy_row = csv.lines().find(|l| l.starts_with("Cy,")).unwrap();
    assert!(
        cy_row.contains(",first-cmk,passed,") && cy_row.contains(",on trust,"),
        "first-cmk's checks need the learner's backend: {cy_row}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("Ben,") && l.ends_with(",starting state: not begun")),
        "{csv}"
    );

    let wide = ok(keylab(
        &instructor,
        &[
            "class",
            "collect",
            results.to_str().unwrap(),
            "--format",
            "csv-wide",
        ],
    ));
    let header: Vec<&str> = wide.lines().next().unwrap().split(',').collect();
    assert_eq!(header[..4], ["learner", "key", "passed", "percent"]);
    let column = header.iter().position(|h| *h == "first-cmk").unwrap();
    let next = header
        .iter()
        .position(|h| *h == "bucket-default-cmk")
        .unwrap();
    assert_eq!(
        header.len() - 3 - 4,
        keylab::pack::Pack::embedded().unwrap().exercises.len(),
        "one column per exercise of the course"
    );
    let row = |name: &str| -> Vec<String> {
        wide.lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .unwrap()
            .split(',')
            .map(String::from)
            .collect()
    };
    assert_eq!(row("Ada")[column], "in progress");
    assert_eq!(row("Ada")[header.len() - 3], "first-cmk");
    assert_eq!(row("Ada")[header.len() - 2], "rotation-left-off");
    assert_eq!(row("Cy")[column], "passed");
    assert_eq!(row("Cy")[2], "1");
    assert_eq!(row("Di")[next], "in progress");
    assert_eq!(row("Cy")[next], "", "not opened");

    // The TUI: the learners tab says what each is on, the mistakes tab who made which.
    use keylab::front::tui::class_view::ClassView;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let scratch = tempfile::tempdir().unwrap();
    let pack = keylab::pack::Pack::embedded().unwrap();
    let class = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(keylab::workshop::class::collect(
            &pack,
            &results,
            None,
            None,
            scratch.path(),
        ))
        .unwrap();
    let mut view = ClassView::new(class, keylab::front::tui::theme::Theme::Mono);
    let draw = |view: &ClassView| {
        let mut terminal = Terminal::new(TestBackend::new(160, 14)).unwrap();
        terminal.draw(|f| view.draw(f)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let screen = draw(&view);
    assert!(screen.contains("working on"), "{screen}");
    let ada_row = screen.lines().find(|l| l.contains("Ada ")).unwrap();
    assert!(
        ada_row.contains("first-cmk") && ada_row.contains("matches known mistake"),
        "{screen}"
    );
    view.key("<tab>");
    let screen = draw(&view);
    assert!(
        screen.contains("on it now") && screen.contains("Ada, Ben"),
        "{screen}"
    );
    view.key("<tab>");
    let screen = draw(&view);
    assert!(
        screen.contains("`rotation-left-off`") && screen.contains("#2"),
        "{screen}"
    );
    // The watch: a newer class keeps the tab, the selection stays in range, and a folder that
    // cannot be collected is said in the status bar until one can.
    view.key("<S-tab>");
    view.key("<S-tab>");
    for _ in 0..3 {
        view.key("j");
    }
    assert_eq!((view.tab, view.selected), (0, 3));
    let mut fewer = view.class.clone();
    fewer.learners.truncate(1);
    view.note = Some("the results files are from 2 workshops".into());
    assert!(draw(&view).contains("the results files are from 2 workshops"));
    view.replace(fewer);
    assert_eq!((view.tab, view.selected), (0, 0));
    assert!(!draw(&view).contains("2 workshops"));
}

#[test]
fn a_changed_lesson_sentence_keeps_earlier_results_and_a_changed_grader_does_not() {
    let root = tempfile::tempdir().unwrap();
    let results = root.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let ada = root.path().join("ada");
    ok(learner(
        &ada,
        &["run", "first-cmk", "--script", &script("solution")],
    ));
    ok(learner(&ada, &["check", "first-cmk"]));
    submit(&ada, "Ada", &results.join("ada.json"));

    // The instructor's copy of the pack, with one lesson sentence changed.
    let pack = root.path().join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    for dir in ["lessons", "exercises", "graders"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo().join(dir))
            .arg(&pack)
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::copy(repo().join("pack.toml"), pack.join("pack.toml")).unwrap();
    let lesson = pack.join("lessons/01-s3-encryption.md");
    let body = std::fs::read_to_string(&lesson).unwrap();
    std::fs::write(
        &lesson,
        format!("{body}\nOne more sentence, added mid-workshop.\n"),
    )
    .unwrap();
    let instructor = root.path().join("instructor");
    let collect = || {
        collect_json(
            &instructor,
            &results,
            &["--pack", pack.to_str().unwrap(), "--trust"],
        )
    };
    let (out, json) = collect();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json["learners"][0]["learner"], "Ada");
    assert!(
        json["learners"][0]["notes"][0]
            .as_str()
            .unwrap()
            .contains("another wording of the pack"),
        "{json:#}"
    );
    // A grader change is another pack.
    let grader = pack.join("graders/first-cmk.toml");
    let text_before = std::fs::read_to_string(&grader).unwrap();
    std::fs::write(&grader, format!("{text_before}\n# a comment\n")).unwrap();
    let (out, json) = collect();
    assert!(!out.status.success());
    assert!(
        json["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("made with another pack"),
        "{json:#}"
    );
}

#[test]
fn class_watch_shows_results_as_they_arrive() {
    let root = tempfile::tempdir().unwrap();
    let results = root.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let ada = root.path().join("ada");
    ok(learner(&ada, &["hint", "first-cmk"]));
    let handed = root.path().join("ada.json");
    submit(&ada, "Ada Watched", &handed);

    let mut child = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args([
            "class",
            "watch",
            results.to_str().unwrap(),
            "--format",
            "table",
            "--interval",
            "0.2",
        ])
        .env("KEYLAB_DATA_DIR", root.path().join("instructor"))
        .env_remove("KEYLAB_WORKSHOP")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |want: &str| -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = String::new();
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(want) {
                    return Ok(());
                }
            }
        }
        Err(format!("no {want:?} in:\n{seen}"))
    };
    let first = wait_for("0 results accepted");
    std::fs::copy(&handed, results.join("ada.json")).unwrap();
    let second = wait_for("Ada Watched");
    child.kill().unwrap();
    child.wait().unwrap();
    first.unwrap();
    second.unwrap();
}

#[test]
fn every_built_in_check_names_its_misconception() {
    let pack = keylab::pack::Pack::embedded().unwrap();
    let missing: Vec<String> = pack
        .graders
        .iter()
        .flat_map(|(id, g)| {
            g.checks
                .iter()
                .filter(|c| c.fail.as_deref().is_none_or(|f| f.trim().is_empty()))
                .map(move |c| format!("{id}: {}", c.title))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "checks without a fail message: {missing:#?}"
    );
}
