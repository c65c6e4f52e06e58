//! Exam practice end to end: mock exam scoring (multiple response all or nothing, unanswered
//! and timed-out questions wrong, the per-item breakdown), exercise results feeding the deck,
//! the line-by-line drill through the binary, and progress export and import between two
//! data directories.

use keylab::lab::check::Status;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, TimeZone, Utc};
use keylab::lab::progress::Progress;
use keylab::pack::Pack;
use keylab::pack::model::Difficulty;
use keylab::study::exam::{ExamConfig, pick, score};
use keylab::study::showing;
use keylab::study::srs::{Deck, Rating, exercise_card, question_card};
use keylab::study::text;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn correct(pack: &Pack, index: usize) -> Vec<usize> {
    let q = &pack.questions[index];
    (0..q.options.len())
        .filter(|&i| q.options[i].correct)
        .collect()
}

fn keylab(data: &Path, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(args)
        .env("KEYLAB_DATA_DIR", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keylab runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_mock_exam_scores_multiple_response_all_or_nothing_per_item() {
    let pack = Pack::embedded().unwrap();
    let multiple = pack.questions.iter().position(|q| q.choose == 2).unwrap();
    let single = pack.questions.iter().position(|q| q.choose == 1).unwrap();
    let right = correct(&pack, multiple);
    let wrong_option = (0..pack.questions[multiple].options.len())
        .find(|i| !right.contains(i))
        .unwrap();
    let half = vec![right[0], wrong_option];
    let answers = vec![
        (multiple, Some(right.clone())),
        (multiple, Some(half)),
        (multiple, Some(vec![right[0]])),
        (single, Some(correct(&pack, single))),
        (single, None),
    ];
    let s = score(&pack, &answers);
    assert_eq!((s.right, s.total, s.unanswered), (2, 5, 1));
    assert!((s.percent() - 40.0).abs() < 1e-9);
    let items: usize = s.items.iter().map(|i| i.total).sum();
    assert_eq!(items, 5, "every question lands in one item");
    let m_item = &pack.questions[multiple].item;
    let row = s.items.iter().find(|i| &i.item == m_item).unwrap();
    assert!(row.right >= 1 && row.total >= 3, "{row:?}");
    assert!(
        s.to_lines()
            .last()
            .unwrap()
            .contains("not AWS's scaled score")
    );

    // The default exam keeps the real exam's pace and draws every item.
    let config = ExamConfig::new(None, None).unwrap();
    assert_eq!((config.questions, config.minutes), (20, 40));
    assert_eq!(ExamConfig::new(Some(65), None).unwrap().minutes, 130);
    assert!(ExamConfig::new(Some(0), None).is_err());
    let drawn = pick(&pack, 16, 7);
    assert_eq!(drawn.len(), 16);
    let mut ids: Vec<usize> = drawn.clone();
    ids.dedup();
    assert_eq!(ids.len(), 16, "no question twice");
    for item in keylab::pack::DEA_ITEMS {
        let n = drawn
            .iter()
            .filter(|&&i| pack.questions[i].item == *item)
            .count();
        assert_eq!(n, 2, "16 questions over 8 items is two each ({item})");
    }
    assert_eq!(
        pick(&pack, 16, 7),
        drawn,
        "the same seed draws the same exam"
    );
    assert_eq!(pick(&pack, 10_000, 7).len(), pack.questions.len());
}

#[test]
fn a_text_exam_stops_answering_when_time_is_up_and_reviews_every_question() {
    let pack = Pack::embedded().unwrap();
    let questions = pick(&pack, 3, 1);
    // The clock is the time each answer is typed: the first at 5 minutes, the second at 20,
    // after the 15-minute deadline.
    let now = std::cell::Cell::new(t0());
    let clock = || now.get();
    // The letters the correct options are shown with, in this learner's (seed 0) first showing.
    let letters = |q: usize| {
        let order = showing::next_order(&Deck::default(), 0, &pack.questions[q]);
        showing::letters_of(&order, &correct(&pack, q)).replace(", ", "")
    };
    let typed = vec![
        (letters(questions[0]), 5),
        (letters(questions[1]), 20),
        (letters(questions[2]), 21),
    ];
    let mut lines = typed.into_iter().map(|(line, minutes)| {
        now.set(t0() + Duration::minutes(minutes));
        line
    });
    let mut out = Vec::new();
    let mut deck = Deck::default();
    let mut saves = 0;
    let result = text::exam(
        &pack,
        &mut deck,
        0,
        &questions,
        15,
        &mut lines,
        &mut out,
        &clock,
        &mut |_| {
            saves += 1;
            Ok(())
        },
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Time is up"), "{out}");
    assert_eq!(
        (result.right, result.total, result.unanswered),
        (1, 3, 2),
        "{out}"
    );
    assert!(saves >= 1);
    for (n, &q) in questions.iter().enumerate() {
        let card = question_card(&pack.questions[q].id);
        assert_eq!(deck.tally(&card).right, u32::from(n == 0), "{card}");
        assert_eq!(
            deck.log
                .iter()
                .filter(|r| r.card == card && r.source == "exam")
                .count(),
            1
        );
    }
    assert!(
        out.contains("[MISSED]") && out.contains("[RIGHT]") && out.contains("Your answer:"),
        "every question is reviewed with the learner's answer: {out}"
    );
}

#[test]
fn exercise_results_feed_the_deck_once_per_attempt() {
    let mut p = Progress::new(1);
    let card = exercise_card("first-cmk");
    p.record_open("first-cmk", t0());
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Fail,
            t0() + Duration::minutes(2)
        ),
        Some(Rating::Again)
    );
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Fail,
            t0() + Duration::minutes(3)
        ),
        None,
        "one Again per attempt"
    );
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Pass,
            t0() + Duration::minutes(4)
        ),
        Some(Rating::Hard),
        "passed after a failed check"
    );
    assert_eq!(p.deck.tally(&card).wrong, 1);
    // Checking the old solution again is not a review; a reset starts a real one.
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Pass,
            t0() + Duration::days(5)
        ),
        None
    );
    p.record_reset("first-cmk", t0() + Duration::days(6));
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Pass,
            t0() + Duration::days(6) + Duration::minutes(3)
        ),
        Some(Rating::Easy),
        "clean and within 5 minutes"
    );
    p.record_reset("first-cmk", t0() + Duration::days(20));
    assert_eq!(p.record_hint("first-cmk", 3, t0() + Duration::days(20)), 1);
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Pass,
            t0() + Duration::days(20) + Duration::minutes(1)
        ),
        Some(Rating::Hard),
        "a hint makes it Hard"
    );
    p.record_reset("first-cmk", t0() + Duration::days(40));
    assert_eq!(
        p.record_check(
            "first-cmk",
            Difficulty::Beginner,
            Status::Pass,
            t0() + Duration::days(40) + Duration::minutes(30)
        ),
        Some(Rating::Good),
        "clean but slow"
    );
    assert_eq!(p.exercises["first-cmk"].attempts, 7);
    assert_eq!(p.deck.log.len(), 5);
}

#[test]
fn drill_answers_through_the_binary_are_explained_rated_and_saved() {
    let pack = Pack::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    Progress::new(7)
        .save(&dir.path().join("progress.json"))
        .unwrap();
    let round = keylab::study::drill::questions(
        &pack,
        &Deck::default(),
        &keylab::study::drill::Pick::Item("S4".into()),
        t0(),
        2,
        7,
    );
    // Letters as this learner (seed 7) sees each question the first time.
    let letters = |q: usize, ids: &[usize]| {
        let order = showing::next_order(&Deck::default(), 7, &pack.questions[q]);
        showing::letters_of(&order, ids).replace(", ", "")
    };
    let right = letters(round[0], &correct(&pack, round[0]));
    let second = &pack.questions[round[1]];
    let wrong: Vec<usize> = (0..second.options.len())
        .filter(|i| !second.options[*i].correct)
        .take(second.choose)
        .collect();
    let input = format!("{right}\nz\n{}\n", letters(round[1], &wrong));
    let out = keylab(
        dir.path(),
        &[
            "drill",
            "--item",
            "S4",
            "--count",
            "2",
            "--retention",
            "0.85",
        ],
        &input,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Question 1 of 2 · 4.3.S4"), "{stdout}");
    assert!(stdout.contains("\nRight.\n"), "{stdout}");
    assert!(
        stdout.contains("there is no option z"),
        "a bad answer is asked again: {stdout}"
    );
    assert!(stdout.contains("Not right: the answer is"), "{stdout}");
    assert!(
        stdout.contains("✗ wrong, your pick: "),
        "every option's reason is shown: {stdout}"
    );
    assert!(
        stdout.contains("Round over: 1 right, 1 wrong, 0 skipped"),
        "{stdout}"
    );
    let progress = Progress::load(&dir.path().join("progress.json")).unwrap();
    assert_eq!(progress.deck.retention, 0.85);
    let reviews: Vec<(String, Rating)> = progress
        .deck
        .log
        .iter()
        .map(|r| (r.card.clone(), r.rating))
        .collect();
    assert_eq!(
        reviews,
        vec![
            (question_card(&pack.questions[round[0]].id), Rating::Good),
            (question_card(&second.id), Rating::Again),
        ]
    );

    let bad = keylab(dir.path(), &["drill", "--retention", "0.99"], "");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(
            "--retention: desired retention 0.99 is out of range: choose from 0.70 to 0.97"
        )
    );
    let bad = keylab(dir.path(), &["drill", "--item", "K9"], "");
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("no objective \"K9\" in this pack: choose one of 4.3.K1")
    );
    let readiness = keylab(dir.path(), &["readiness", "--json"], "");
    let json: serde_json::Value = serde_json::from_slice(&readiness.stdout).unwrap();
    let s4 = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"] == "4.3.S4")
        .unwrap();
    assert_eq!(s4["seen"], 2);
    assert_eq!(
        (s4["right"].as_u64(), s4["wrong"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        json["note"]
            .as_str()
            .unwrap()
            .contains("not AWS's scaled score")
    );
    let table = keylab(dir.path(), &["readiness"], "");
    assert!(String::from_utf8_lossy(&table.stdout).contains("S4 "));
}

#[test]
fn progress_exports_and_imports_between_machines() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut p = Progress::new(4242);
    p.record_open("first-cmk", t0());
    p.record_check(
        "first-cmk",
        Difficulty::Beginner,
        Status::Pass,
        t0() + Duration::minutes(3),
    );
    p.deck
        .review("q:an-redshift-hsm", Rating::Again, t0(), "drill");
    p.deck.retention = 0.8;
    p.save(&home.path().join("progress.json")).unwrap();
    let file = home.path().join("export.json");
    let out = keylab(
        home.path(),
        &["progress", "export", file.to_str().unwrap()],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A new machine takes everything, the seed too.
    let out = keylab(
        work.path(),
        &["progress", "import", file.to_str().unwrap()],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = Progress::load(&work.path().join("progress.json")).unwrap();
    assert_eq!(moved, p, "the round trip keeps every field");

    // Work done on both machines merges: each side's reviews are kept once.
    let mut w = moved.clone();
    w.deck.review(
        "q:an-redshift-hsm",
        Rating::Good,
        t0() + Duration::days(1),
        "drill",
    );
    w.save(&work.path().join("progress.json")).unwrap();
    let back = work.path().join("back.json");
    keylab(
        work.path(),
        &["progress", "export", back.to_str().unwrap()],
        "",
    );
    let out = keylab(
        home.path(),
        &["progress", "import", back.to_str().unwrap()],
        "",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("merged; this machine's seed is kept"));
    let merged = Progress::load(&home.path().join("progress.json")).unwrap();
    assert_eq!(merged.deck.log.len(), 3);
    assert_eq!(
        merged.deck.cards["q:an-redshift-hsm"],
        w.deck.cards["q:an-redshift-hsm"]
    );

    // Bad files say what is wrong and change nothing.
    let before = std::fs::read(home.path().join("progress.json")).unwrap();
    let junk = home.path().join("junk.json");
    std::fs::write(&junk, "{\"kind\": \"something-else\"}").unwrap();
    let out = keylab(
        home.path(),
        &["progress", "import", junk.to_str().unwrap()],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a keylab progress export"));
    std::fs::write(
        &junk,
        "{\"kind\": \"keylab-progress\", \"progress\": {\"seed\": 1, \"format_version\": 99}}",
    )
    .unwrap();
    let out = keylab(
        home.path(),
        &["progress", "import", junk.to_str().unwrap()],
        "",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("format_version 99 is newer than this keylab reads")
    );
    assert_eq!(
        std::fs::read(home.path().join("progress.json")).unwrap(),
        before
    );
}
