//! The TUI without a terminal: key-sequence tests of the pure `update`, snapshots of every
//! screen (80×24 and 120×40, dark and mono) through ratatui's `TestBackend`, every lesson drawn
//! at every width from 40 to 160, and the plain mode solving an exercise line by line.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use keylab::front::tui::app::{App, Effect, Msg, Screen};
use keylab::front::tui::keymap::{Context, parse_keys};
use keylab::front::tui::theme::Theme;
use keylab::front::tui::view;
use keylab::front::worker::{Ready, WorkerEvent};
use keylab::lab::grader::{CheckResult, Status};
use keylab::lab::progress::{DataDir, Progress};
use keylab::pack::Pack;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(theme: Theme, size: (u16, u16)) -> App {
    let pack = Arc::new(Pack::embedded().unwrap());
    let progress = Progress::new(42);
    let mut app = App::new(pack, progress, theme, size);
    app.backend = "engine https://127.0.0.1:4511".into();
    app.update(Msg::Tick(t0()));
    app
}

/// The fixed clock of these tests.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// The letters the screen shows for option ids of the question on screen, found by reading
/// the drawn screen as a learner would (the options are shuffled).
fn letters_on_screen(app: &App, ids: &[usize]) -> String {
    let q = &app.pack.questions[shown(app)];
    let screen = screen_text(app);
    ids.iter()
        .map(|&id| {
            let text: String = q.options[id]
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let start: String = text.chars().take(24).collect();
            screen
                .lines()
                .find_map(|line| {
                    let at = line.find(&format!(") {start}"))?;
                    line[..at].chars().last()
                })
                .unwrap_or_else(|| panic!("option {start:?} is not on the screen:\n{screen}"))
        })
        .collect()
}

/// The drawn screen as text, row by row.
fn screen_text(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| view::draw(app, f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The letters of the shown question's right answer, read from the screen.
fn right_letters(app: &App, index: usize) -> String {
    assert_eq!(index, shown(app), "the question answered is the one shown");
    let q = &app.pack.questions[index];
    letters_on_screen(app, &q.correct_options())
}

/// Letters of wrong options, as many as the question asks for, read from the screen.
fn wrong_letters(app: &App, index: usize) -> String {
    assert_eq!(index, shown(app), "the question answered is the one shown");
    let q = &app.pack.questions[index];
    let wrong: Vec<usize> = (0..q.options.len())
        .filter(|&i| !q.options[i].correct)
        .take(q.choose)
        .collect();
    letters_on_screen(app, &wrong)
}

/// The question index shown in the drill screen.
fn shown(app: &App) -> usize {
    let d = app.drill.as_ref().unwrap();
    d.questions[d.current]
}

/// The keys that open lesson 4 ("Encryption in transit", whose first exercise is
/// https-only-bucket) from the top of the course map: 21 rows down.
const TO_LESSON_4: &str = "jjjjjjjjjjjjjjjjjjjjj<enter>";

/// Presses keys (`"jj<enter>?<esc>"`) and returns every effect.
fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    parse_keys(keys)
        .into_iter()
        .flat_map(|k| app.update(Msg::Key(k)))
        .collect()
}

fn vars() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("bucket".to_string(), "keylab-test-000000".to_string()),
        (
            "http_endpoint".to_string(),
            "http://127.0.0.1:4510".to_string(),
        ),
    ])
}

fn ready(app: &mut App, id: &str) {
    let pack = app.pack.clone();
    let x = pack.exercise(id).unwrap();
    let mut vars = vars();
    for (name, kind) in &x.spec.vars {
        vars.entry(name.clone())
            .or_insert_with(|| keylab::lab::vars::value(7, id, name, *kind));
    }
    // Values that setup steps save (key ids and the like) get a stand-in.
    let text = |vars: &mut BTreeMap<String, String>, text: &str| loop {
        match keylab::lab::vars::substitute(text, vars) {
            Ok(done) => return done,
            Err(e) => {
                let name = e.split("}}").next().unwrap().trim_start_matches("{{");
                assert!(
                    vars.insert(name.to_string(), format!("<{name}>")).is_none(),
                    "{e}"
                );
            }
        }
    };
    let instructions = text(&mut vars, &x.readme);
    let explanation = text(&mut vars, &x.spec.explanation);
    for hint in &x.spec.hints {
        text(&mut vars, hint);
    }
    app.update(Msg::Worker(WorkerEvent::ExerciseReady(Ready {
        id: id.into(),
        instructions,
        explanation,
        vars,
        backend: "engine https://127.0.0.1:4511".into(),
        files: vec!["README.md".into(), "report.csv".into()],
        history: vec![],
    })));
}

fn result(title: &str, status: Status) -> CheckResult {
    CheckResult {
        title: title.into(),
        task: Some(1),
        status,
        message: if status == Status::Pass { String::new() } else { "owner-admin s3:GetObject over plain HTTP should be denied but is allowed".into() },
        trace: (status != Status::Pass).then(|| "ALLOW s3:GetObject on arn:aws:s3:::keylab-test-000000/report.csv\n  => An identity policy allows: allowed.".into()),
        kind: "simulate",
        duration_ms: 3,
    }
}

#[test]
fn keys_move_through_the_course_and_help_opens_and_closes() {
    let mut a = app(Theme::Dark, (80, 24));
    assert_eq!(a.screen, Screen::Map);
    press(&mut a, "jjjjjjj<enter>");
    assert_eq!(
        (a.screen, a.lesson),
        (Screen::Lesson, 1),
        "the eighth row is lesson 2, after lesson 1's six exercises"
    );
    press(&mut a, "?");
    assert!(a.help);
    assert!(
        press(&mut a, "j").is_empty() && a.lesson_scroll == 0,
        "help swallows keys"
    );
    press(&mut a, "<esc>");
    assert!(!a.help);
    press(&mut a, "<F1><F1>jj");
    assert_eq!(a.lesson_scroll, 2);
    press(&mut a, "np");
    assert_eq!(a.lesson, 1);
    press(&mut a, "<esc>");
    assert_eq!(a.screen, Screen::Map);
    press(&mut a, "/refuse plain");
    assert_eq!(
        a.rows().len(),
        2,
        "the filter keeps lesson 4 and its matching exercise"
    );
    press(&mut a, "<enter>j<enter>");
    assert_eq!(a.screen, Screen::Exercise);
    assert_eq!(a.exercise.as_ref().unwrap().id, "https-only-bucket");
    assert_eq!(
        press(&mut a, "<esc><esc><esc>q"),
        vec![Effect::SaveProgress, Effect::Quit]
    );
    assert!(a.quit);
    let mut b = app(Theme::Dark, (80, 24));
    assert_eq!(
        press(&mut b, "<C-c>"),
        vec![Effect::SaveProgress, Effect::Quit]
    );
}

#[test]
fn the_console_types_runs_completes_and_keeps_history() {
    let mut a = app(Theme::Dark, (120, 40));
    let effects = press(&mut a, &format!("{TO_LESSON_4}e"));
    assert_eq!(
        effects,
        vec![
            Effect::CloseExercise,
            Effect::OpenExercise("https-only-bucket".into()),
            Effect::SaveProgress
        ]
    );
    assert!(
        press(&mut a, "ls<enter>").is_empty(),
        "nothing runs before the backend is ready"
    );
    ready(&mut a, "https-only-bucket");
    assert_eq!(press(&mut a, "q"), vec![], "q is typed in the console");
    press(&mut a, "<backspace>");
    let run = press(
        &mut a,
        "aws s3api head-object --bucket {{bucket}} --key report.csv<enter>",
    );
    assert_eq!(
        run,
        vec![
            Effect::Remember("aws s3api head-object --bucket {{bucket}} --key report.csv".into()),
            Effect::Run(
                "aws s3api head-object --bucket keylab-test-000000 --key report.csv".into()
            )
        ]
    );
    assert!(press(&mut a, "ls<enter>").is_empty(), "one job at a time");
    a.update(Msg::Worker(WorkerEvent::CommandDone {
        outcome: keylab::console::Outcome {
            stdout: "{\n    \"ETag\": \"x\"\n}\n".into(),
            ..Default::default()
        },
        files: vec!["README.md".into(), "report.csv".into()],
    }));
    press(&mut a, "<up>");
    assert_eq!(
        a.exercise.as_ref().unwrap().input,
        "ls",
        "history keeps what was typed"
    );
    press(&mut a, "<up>");
    assert!(
        a.exercise
            .as_ref()
            .unwrap()
            .input
            .starts_with("aws s3api head-object")
    );
    press(&mut a, "<down><down>");
    assert_eq!(a.exercise.as_ref().unwrap().input, "");
    press(&mut a, "aws k<tab>");
    assert_eq!(a.exercise.as_ref().unwrap().input, "aws kms ");
    press(&mut a, "gen<tab>");
    assert_eq!(a.exercise.as_ref().unwrap().input, "aws kms generate-");
    press(&mut a, "data-key --key-s<tab>");
    assert_eq!(
        a.exercise.as_ref().unwrap().input,
        "aws kms generate-data-key --key-spec "
    );
    press(&mut a, "<esc>");
    assert_eq!(press(&mut a, ":"), vec![]);
    press(&mut a, "<left>X");
    assert!(a.exercise.as_ref().unwrap().input.ends_with("--key-specX "));
    press(&mut a, "<esc>");
    assert_eq!(press(&mut a, "e"), vec![]);
    assert_eq!(a.exercise.as_ref().unwrap().input, "edit ");
    assert_eq!(
        press(&mut a, "report.csv<enter>"),
        vec![Effect::Edit("report.csv".into())]
    );
}

#[test]
fn checks_hints_reset_and_moving_on() {
    let mut a = app(Theme::Dark, (120, 40));
    press(&mut a, &format!("{TO_LESSON_4}e"));
    ready(&mut a, "https-only-bucket");
    press(&mut a, "<esc>");
    assert_eq!(press(&mut a, "H"), vec![Effect::SaveProgress]);
    assert_eq!(a.progress.exercises["https-only-bucket"].hints_used, 1);
    assert!(
        a.exercise.as_ref().unwrap().details.is_some(),
        "a hint opens the details at the end, where the hint is"
    );
    press(&mut a, "HHH");
    assert_eq!(
        a.exercise.as_ref().unwrap().hints_shown,
        3,
        "the ladder stops at its last rung"
    );
    press(&mut a, "<esc>");
    assert!(a.exercise.as_ref().unwrap().details.is_none());
    assert_eq!(press(&mut a, "c"), vec![Effect::Check]);
    assert_eq!(
        press(&mut a, "c"),
        vec![],
        "a running check is not started twice"
    );
    a.update(Msg::Worker(WorkerEvent::CheckDone {
        results: vec![result("plain HTTP is denied", Status::Fail)],
        at: "2026-11-23T00:00:00Z".parse().unwrap(),
        evidence: Default::default(),
    }));
    assert_eq!(press(&mut a, "n"), vec![], "moving on needs a pass");
    press(&mut a, "t");
    let details = a.exercise.as_ref().unwrap().details_lines.clone();
    assert!(a.exercise.as_ref().unwrap().details.is_some());
    assert!(
        details
            .iter()
            .any(|l| l.to_string().contains("Policy trace")),
        "the trace of the failed check is in the details"
    );
    press(&mut a, "<esc>");
    assert_eq!(press(&mut a, "x"), vec![]);
    assert_eq!(
        press(&mut a, "n"),
        vec![],
        "anything but y cancels the reset"
    );
    press(&mut a, "x");
    assert_eq!(press(&mut a, "y"), vec![Effect::Reset]);
    ready(&mut a, "https-only-bucket");
    press(&mut a, "c");
    let effects = a.update(Msg::Worker(WorkerEvent::CheckDone {
        results: vec![result("plain HTTP is denied", Status::Pass)],
        at: "2026-11-23T00:00:00Z".parse().unwrap(),
        evidence: Default::default(),
    }));
    assert_eq!(effects, vec![Effect::SaveProgress]);
    let p = &a.progress.exercises["https-only-bucket"];
    assert_eq!(
        (p.attempts, p.passed_at.map(|t| t.to_rfc3339())),
        (2, Some("2026-11-23T00:00:00+00:00".to_string()))
    );
    assert_eq!(a.mark("https-only-bucket").1, "done");
    assert_eq!(
        press(&mut a, "n"),
        vec![
            Effect::CloseExercise,
            Effect::OpenExercise("tls-floor".into()),
            Effect::SaveProgress
        ]
    );
    assert_eq!(
        press(&mut a, "<esc>s"),
        vec![],
        "no shell before the backend is ready"
    );
    press(&mut a, "T");
    assert_eq!(a.theme, Theme::Light);
    assert_eq!(press(&mut a, "m"), vec![Effect::SetMouse(true)]);
}

fn draw(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| view::draw(app, f)).unwrap();
    format!("{:?}", terminal.backend().buffer())
}

fn screens(theme: Theme, size: (u16, u16)) -> Vec<(&'static str, App)> {
    let map = app(theme, size);
    let mut lesson = app(theme, size);
    press(&mut lesson, "<enter>");
    let mut exercise = app(theme, size);
    press(&mut exercise, &format!("{TO_LESSON_4}e"));
    ready(&mut exercise, "https-only-bucket");
    press(
        &mut exercise,
        "aws s3api get-bucket-policy --bucket {{bucket}}<enter>",
    );
    exercise.update(Msg::Worker(WorkerEvent::CommandDone {
        outcome: keylab::console::Outcome {
            stderr: "An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist\n".into(),
            code: 254,
            ..Default::default()
        },
        files: vec![],
    }));
    press(&mut exercise, "<esc>H<esc>");
    exercise.update(Msg::Worker(WorkerEvent::CheckDone {
        results: vec![
            result(
                "plain HTTP is denied for the bucket and its objects",
                Status::Fail,
            ),
            result("a real download over HTTPS still works", Status::Pass),
        ],
        at: "2026-11-23T00:00:00Z".parse().unwrap(),
        evidence: Default::default(),
    }));
    let mut details = exercise.clone();
    press(&mut details, "o");
    let mut details_end = details.clone();
    press(&mut details_end, "G");
    let mut lesson_end = lesson.clone();
    press(&mut lesson_end, "G");
    let mut help = app(theme, size);
    press(&mut help, "<enter>?");
    let mut menu = app(theme, size);
    press(&mut menu, "d");
    let mut question = app(theme, size);
    press(&mut question, "dj<enter>");
    let first = right_letters(&question, shown(&question));
    press(&mut question, &first[..1]);
    let mut answered = question.clone();
    let wrong = wrong_letters(&answered, shown(&answered));
    press(&mut answered, &format!("{}{wrong}<enter>", &first[..1]));
    let mut exam = app(theme, size);
    press(&mut exam, "dG<enter>");
    for _ in 0..5 {
        let right = right_letters(&exam, shown(&exam));
        press(&mut exam, &format!("{right}<enter>"));
    }
    press(&mut exam, "F");
    let mut readiness = answered.clone();
    press(&mut readiness, "<enter><esc><esc>r");
    vec![
        ("map", map),
        ("lesson", lesson),
        ("lesson_end", lesson_end),
        ("exercise", exercise),
        ("details", details),
        ("details_end", details_end),
        ("help", help),
        ("drill_menu", menu),
        ("drill_question", question),
        ("drill_answered", answered),
        ("exam_score", exam),
        ("readiness", readiness),
    ]
}

#[test]
fn every_screen_matches_its_snapshot() {
    for (theme, name) in [(Theme::Dark, "dark"), (Theme::Mono, "mono")] {
        for size in [(80, 24), (120, 40)] {
            for (screen, app) in screens(theme, size) {
                insta::assert_snapshot!(
                    format!("{screen}_{name}_{}x{}", size.0, size.1),
                    draw(&app)
                );
            }
        }
    }
}

#[test]
fn every_lesson_draws_at_every_width_from_40_to_160() {
    let pack = Pack::embedded().unwrap();
    for (i, _) in pack.lessons.iter().enumerate() {
        for width in (40..=160).step_by(8) {
            let mut a = app(Theme::Dark, (width, 30));
            a.update(Msg::Resize(width, 30));
            // Open lesson i from the map: its row is after the previous lessons and exercises.
            let row = a
                .rows()
                .iter()
                .position(|r| *r == keylab::front::tui::app::Row::Lesson(i))
                .unwrap();
            a.selected = row;
            press(&mut a, "<enter>");
            assert_eq!(a.lesson, i);
            draw(&a);
            press(&mut a, "G");
            let text = draw(&a);
            assert!(!text.is_empty());
        }
    }
}

#[test]
fn plain_mode_solves_an_exercise_line_by_line() {
    let data = tempfile::tempdir().unwrap();
    let pack = Arc::new(Pack::embedded().unwrap());
    let solution = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("graders/https-only-bucket/solution"),
    )
    .unwrap();
    let first = solution.lines().next().unwrap();
    // The drill round's first question follows from the seed and the two reviews before it
    // (the failed check, then the pass after a hint).
    Progress::new(42)
        .save(&data.path().join("progress.json"))
        .unwrap();
    let round = keylab::study::drill::questions(
        &pack,
        &keylab::study::srs::Deck::default(),
        &keylab::study::drill::Pick::Item("S4".into()),
        t0(),
        10,
        42 ^ 2,
    );
    // Options are shuffled per learner and showing: this learner's first showing of it.
    let q = &pack.questions[round[0]];
    let order = keylab::study::showing::next_order(&keylab::study::srs::Deck::default(), 42, q);
    let answer = keylab::study::showing::letters_of(&order, &q.correct_options()).replace(", ", "");
    let script = format!(
        "list\nread 4\nopen https-only-bucket\ncheck\nhint\n{first}\ncheck\ndrill K9\ndrill S4\n{answer}\nq\nexam 2\ns\nq\nreadiness\nquit\n"
    );
    let mut out = Vec::new();
    keylab::front::plain::run(
        pack.clone(),
        DataDir(data.path().to_path_buf()),
        keylab::lab::session::Target::Engine,
        script.as_bytes(),
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("exercise https-only-bucket (not started)"),
        "{out}"
    );
    assert!(
        out.contains("Encryption in transit\n\n# Encryption in transit"),
        "{out}"
    );
    assert!(out.contains("FAIL: plain HTTP is denied"), "{out}");
    assert!(out.contains("Hint 1 of 3"), "{out}");
    assert!(out.contains("4 of 4 checks passed"), "{out}");
    assert!(
        out.contains("review: Again"),
        "the failed check is rated: {out}"
    );
    assert!(
        out.contains("review: Hard"),
        "a pass after a hint is Hard: {out}"
    );
    assert!(out.contains("no objective \"K9\" in this pack"), "{out}");
    assert!(out.contains("Question 1 of 10 · 4.3.S4"), "{out}");
    assert!(out.contains("Mock exam: 2 questions, 4 minutes"), "{out}");
    assert!(
        out.contains("Score: 0 of 2 right (0%), 2 unanswered"),
        "{out}"
    );
    assert!(
        out.contains("S4 ") && out.contains("not AWS's scaled score"),
        "{out}"
    );
    let progress = Progress::load(&data.path().join("progress.json")).unwrap();
    let p = &progress.exercises["https-only-bucket"];
    assert!(p.passed_at.is_some() && p.hints_used == 1 && p.attempts == 2);
    let sources: Vec<&str> = progress
        .deck
        .log
        .iter()
        .map(|r| r.source.as_str())
        .collect();
    assert_eq!(sources.iter().filter(|s| **s == "exercise").count(), 2);
    assert_eq!(sources.iter().filter(|s| **s == "exam").count(), 2);
    assert!(out.contains("\nRight.\n"), "{out}");
    let drilled: Vec<&str> = progress
        .deck
        .log
        .iter()
        .filter(|r| r.source == "drill")
        .map(|r| r.card.as_str())
        .collect();
    let expected = keylab::study::srs::question_card(&pack.questions[round[0]].id);
    assert_eq!(drilled, vec![expected.as_str()]);
}

#[test]
fn a_drill_round_is_answered_explained_and_rated_by_keys() {
    let mut a = app(Theme::Dark, (100, 30));
    press(&mut a, "d");
    assert_eq!(a.screen, Screen::DrillMenu);
    press(&mut a, "<enter>");
    assert_eq!(a.screen, Screen::DrillMenu, "nothing is due on a new deck");
    assert!(a.message.contains("Nothing is due"), "{}", a.message);
    press(&mut a, "j<enter>");
    assert_eq!(a.screen, Screen::Drill);
    let d = a.drill.as_ref().unwrap();
    assert_eq!(d.questions.len(), 10, "a round is ten questions");
    assert!(d.deadline.is_none());

    // Picking: letters toggle; a single answer keeps one pick; Enter needs the right count.
    let first = shown(&a);
    let q = a.pack.questions[first].clone();
    let right = right_letters(&a, first);
    let wrong = wrong_letters(&a, first);
    if q.choose == 1 {
        press(&mut a, &format!("{wrong}{right}"));
        assert_eq!(a.drill.as_ref().unwrap().picked[0].len(), 1);
    } else {
        press(&mut a, &right[..1]);
        assert!(
            press(&mut a, "<enter>").is_empty(),
            "one pick of two is not an answer"
        );
        assert!(a.message.contains("Choose"), "{}", a.message);
        press(&mut a, &right[1..]);
    }
    let effects = press(&mut a, "<enter>");
    assert_eq!(effects, vec![Effect::SaveProgress]);
    assert!(a.drill.as_ref().unwrap().is_revealed());
    assert!(a.message.starts_with("Right."), "{}", a.message);
    let card = keylab::study::srs::question_card(&q.id);
    assert_eq!(a.progress.deck.tally(&card).right, 1);
    assert!(draw(&a).contains("✓ correct, your pick"));
    press(&mut a, "a");
    assert_eq!(
        a.progress.deck.log.len(),
        1,
        "a revealed answer cannot be changed"
    );

    // The next question, answered wrong: Again, and the reasons show.
    press(&mut a, "<enter>");
    assert_eq!(a.drill.as_ref().unwrap().current, 1);
    let second = shown(&a);
    let wrong = wrong_letters(&a, second);
    press(&mut a, &format!("{wrong}<enter>"));
    assert!(a.message.starts_with("Not right"), "{}", a.message);
    let screen = draw(&a);
    assert!(screen.contains("✗ wrong, your pick"), "{screen}");
    let card2 = keylab::study::srs::question_card(&a.pack.questions[second].id);
    assert_eq!(a.progress.deck.tally(&card2).wrong, 1);

    // Esc leaves the round; the wrong answer is due again the next day, the right one later.
    press(&mut a, "<esc>");
    assert_eq!(a.screen, Screen::DrillMenu);
    a.update(Msg::Tick(t0() + Duration::hours(23)));
    assert_eq!(
        a.entry_counts(&keylab::front::tui::app::MenuEntry::Round(
            keylab::study::drill::Pick::Due
        ))
        .1,
        0
    );
    a.update(Msg::Tick(t0() + Duration::hours(25)));
    assert_eq!(
        a.entry_counts(&keylab::front::tui::app::MenuEntry::Round(
            keylab::study::drill::Pick::Due
        ))
        .1,
        1
    );
    press(&mut a, "g<enter>");
    assert_eq!(a.screen, Screen::Drill);
    assert_eq!(
        shown(&a),
        second,
        "the due round brings back the missed question"
    );
    press(&mut a, "<esc><esc>r");
    assert_eq!(a.screen, Screen::Readiness);
    assert!(draw(&a).contains("our estimate"));
    press(&mut a, "<esc>");
    assert_eq!(a.screen, Screen::Map);
}

#[test]
fn the_mock_exam_is_timed_scored_at_the_end_and_reviewed() {
    let mut a = app(Theme::Dark, (100, 30));
    press(&mut a, "dGk<enter>");
    let d = a.drill.as_ref().unwrap();
    assert_eq!(
        d.questions.len(),
        20,
        "the menu's second exam is 20 questions"
    );
    assert_eq!(d.deadline, Some(t0() + Duration::minutes(40)));
    // No feedback while answering: Enter moves on.
    let first = shown(&a);
    let right = right_letters(&a, first);
    assert!(press(&mut a, &format!("{right}<enter>")).is_empty());
    assert_eq!(a.drill.as_ref().unwrap().current, 1);
    assert!(
        a.progress.deck.log.is_empty(),
        "nothing is rated before the end"
    );
    press(&mut a, "n");
    press(&mut a, "p");
    assert_eq!(
        a.drill.as_ref().unwrap().current,
        1,
        "back to the skipped question"
    );
    press(&mut a, "p");
    assert_eq!(
        a.drill.as_ref().unwrap().picked[0].len(),
        right.len(),
        "answers are kept"
    );
    // Esc asks before leaving.
    press(&mut a, "<esc>");
    assert!(a.message.contains("without a score"));
    press(&mut a, "n");
    assert_eq!(a.screen, Screen::Drill);
    // Time runs out.
    assert!(a.update(Msg::Tick(t0() + Duration::minutes(39))).is_empty());
    let effects = a.update(Msg::Tick(t0() + Duration::minutes(40)));
    assert_eq!(effects, vec![Effect::SaveProgress]);
    let score = a.drill.as_ref().unwrap().score.clone().unwrap();
    assert_eq!((score.right, score.total, score.unanswered), (1, 20, 19));
    assert_eq!(
        a.progress.deck.log.len(),
        20,
        "every exam question is reviewed"
    );
    assert!(a.progress.deck.log.iter().all(|r| r.source == "exam"));
    let screen = screen_text(&a);
    assert!(screen.contains("Score: 1 of 20 right"), "{screen}");
    assert!(
        screen.contains("✓ right")
            && screen.contains("✗ missed")
            && screen.contains("(you: none; answer:"),
        "every question is listed with the answers: {screen}"
    );
    // Any question opens with every option's reason; Esc goes back to the list, then out.
    press(&mut a, "j<enter>");
    let d = a.drill.as_ref().unwrap();
    assert_eq!(d.reviewing, Some(1));
    let q = &a.pack.questions[d.questions[1]];
    let screen = screen_text(&a);
    assert!(screen.contains("Not right: the answer is"), "{screen}");
    let why: String = q.options[0]
        .why
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(screen.contains(&why), "the reasons are shown: {screen}");
    press(&mut a, "<esc>");
    assert_eq!(a.drill.as_ref().unwrap().reviewing, None);
    press(&mut a, "<esc>");
    assert_eq!(a.screen, Screen::DrillMenu);
}

#[test]
fn exercises_due_for_review_are_marked_on_the_course_map() {
    let mut a = app(Theme::Dark, (100, 30));
    a.progress.record_open("bucket-default-cmk", t0());
    a.progress.record_check(
        "bucket-default-cmk",
        keylab::pack::model::Difficulty::Beginner,
        Status::Pass,
        t0() + Duration::minutes(20),
    );
    assert_eq!(a.mark("bucket-default-cmk").1, "done");
    let due = a.progress.deck.due_at("x:bucket-default-cmk").unwrap();
    a.update(Msg::Tick(due));
    assert_eq!(a.mark("bucket-default-cmk"), ("↻", "due for review"));
    assert!(draw(&a).contains("due for review"));
    press(&mut a, "d");
    assert!(draw(&a).contains("Exercises due for review"));
}

/// The last word of the last line of `lines` that has one, as the screen shows it.
fn last_word(lines: &[ratatui::text::Line<'_>]) -> String {
    lines
        .iter()
        .rev()
        .map(|l| l.to_string())
        .find_map(|l| l.split_whitespace().last().map(str::to_string))
        .unwrap_or_default()
}

/// Opens exercise `id` from the course map and makes its backend ready.
fn open_exercise(a: &mut App, id: &str) {
    let row = a
        .rows()
        .iter()
        .position(|r| *r == keylab::front::tui::app::Row::Exercise(id.to_string()))
        .unwrap();
    a.selected = row;
    press(a, "<enter>");
    ready(a, id);
}

#[test]
fn every_lesson_scrolls_to_its_last_line_at_every_size() {
    let pack = Pack::embedded().unwrap();
    for size in [(80, 24), (100, 30), (120, 40), (160, 50)] {
        for (i, lesson) in pack.lessons.iter().enumerate() {
            let mut a = app(Theme::Mono, size);
            let row = a
                .rows()
                .iter()
                .position(|r| *r == keylab::front::tui::app::Row::Lesson(i))
                .unwrap();
            a.selected = row;
            press(&mut a, "<enter>");
            // Page down as a reader would, until the page stops moving.
            let mut last = u16::MAX;
            while a.lesson_scroll != last {
                last = a.lesson_scroll;
                press(&mut a, "<pgdown>");
            }
            let screen = screen_text(&a);
            let word = last_word(&a.lesson_lines);
            assert!(
                screen.contains(&word),
                "{} at {size:?}: the last line ({word:?}) is not on screen after paging to the end:\n{screen}",
                lesson.id
            );
            press(&mut a, "G");
            assert_eq!(a.lesson_scroll, last, "G and paging end at the same row");
        }
    }
}

#[test]
fn the_checks_hints_and_explanation_of_every_exercise_can_be_read_to_the_end() {
    let pack = Pack::embedded().unwrap();
    let trace = (1..=30)
        .map(|i| format!("  statement {i}: Allow s3:GetObject on arn:aws:s3:::keylab-test-000000/* does not match aws:SecureTransport=false"))
        .collect::<Vec<_>>()
        .join("\n");
    for size in [(80, 24), (120, 40)] {
        for x in &pack.exercises {
            let mut a = app(Theme::Mono, size);
            open_exercise(&mut a, &x.id);
            let grader = &pack.graders[&x.id];
            let failed: Vec<CheckResult> = grader
                .checks
                .iter()
                .map(|c| CheckResult {
                    title: c.title.clone(),
                    task: c.task,
                    status: Status::Fail,
                    message: c.fail.clone().unwrap_or_else(|| "not yet".into()),
                    trace: Some(trace.clone()),
                    kind: "simulate",
                    duration_ms: 1,
                })
                .collect();
            press(&mut a, "<esc>HHH");
            press(&mut a, "<esc>c");
            a.update(Msg::Worker(WorkerEvent::CheckDone {
                results: failed.clone(),
                at: t0(),
                evidence: Default::default(),
            }));
            press(&mut a, "oG");
            let screen = screen_text(&a);
            let details = &a.exercise.as_ref().unwrap().details_lines;
            assert!(
                screen.contains("H: next hint"),
                "{} at {size:?}: the end of the failed checks is not reachable:\n{screen}",
                x.id
            );
            assert!(
                details.iter().any(|l| l.to_string().contains("Hint 2 of")),
                "{}",
                x.id
            );
            press(&mut a, "<esc>c");
            let passed: Vec<CheckResult> = failed
                .into_iter()
                .map(|r| CheckResult {
                    status: Status::Pass,
                    message: String::new(),
                    trace: None,
                    ..r
                })
                .collect();
            a.update(Msg::Worker(WorkerEvent::CheckDone {
                results: passed,
                at: t0(),
                evidence: Default::default(),
            }));
            assert!(
                a.exercise.as_ref().unwrap().details.is_some(),
                "a pass opens the explanation"
            );
            press(&mut a, "G");
            let screen = screen_text(&a);
            let explanation = keylab::front::tui::markdown::render(
                a.exercise.as_ref().unwrap().explanation.trim(),
                Theme::Mono,
                size.0 - 4,
            );
            let word = last_word(&explanation);
            let details = a.exercise.as_ref().unwrap().details_lines.clone();
            let unfilled: Vec<String> = details
                .iter()
                .map(|l| l.to_string())
                .filter(|l| l.contains("{{"))
                .collect();
            assert!(
                unfilled.is_empty(),
                "{}: names filled in: {unfilled:?}",
                x.id
            );
            assert!(
                details.iter().any(|l| l.to_string().contains(&word)),
                "{}: the explanation is in the details",
                x.id
            );
            assert!(
                screen.contains("n: next exercise · Esc: back to the exercise"),
                "{} at {size:?}: after a pass, the end of the details is reachable:\n{screen}",
                x.id
            );
        }
    }
}

#[test]
fn keys_go_where_the_focus_is_and_esc_goes_back_where_you_came_from() {
    let mut a = app(Theme::Dark, (80, 24));
    // From the map to an exercise and back: one Esc (leaving the console first).
    open_exercise(&mut a, "https-only-bucket");
    assert_eq!(a.screen, Screen::Exercise);
    press(&mut a, "<esc><esc>");
    assert_eq!(
        a.screen,
        Screen::Map,
        "an exercise opened from the map goes back to it"
    );
    assert_eq!(
        a.rows()[a.selected],
        keylab::front::tui::app::Row::Exercise("https-only-bucket".into()),
        "the map's cursor is on the exercise just left"
    );
    // From a lesson to its exercise and back: the lesson, then the map.
    a.selected = 0;
    press(&mut a, "<enter>");
    assert_eq!((a.screen, a.lesson), (Screen::Lesson, 0));
    let first_lesson = a.lesson_lines.clone();
    press(&mut a, "e");
    assert_eq!(a.screen, Screen::Exercise);
    press(&mut a, "<esc><esc>");
    assert_eq!(a.screen, Screen::Lesson);
    press(&mut a, "<esc>");
    assert_eq!(a.screen, Screen::Map);
    // An exercise of another lesson shows that lesson afterwards, from its top.
    open_exercise(&mut a, "https-only-bucket");
    press(&mut a, "<esc>");
    let lesson_4 = a
        .pack
        .lessons
        .iter()
        .position(|l| l.exercises.contains(&"https-only-bucket".to_string()))
        .unwrap();
    assert_eq!(a.lesson, lesson_4);
    assert_ne!(
        a.lesson_lines, first_lesson,
        "the lesson text follows the exercise"
    );

    // After the shell returns, every key typed goes into the console.
    a.update(Msg::Returned);
    assert_eq!(a.context(), keylab::front::tui::keymap::Context::Console);
    let effects = press(&mut a, "sed -n 1p report.csv");
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(a.exercise.as_ref().unwrap().input, "sed -n 1p report.csv");
    assert_eq!(a.screen, Screen::Exercise);
    assert_eq!(a.theme, Theme::Dark, "T was typed, not obeyed");

    // `/` in the lesson reader finds; the letters typed after it are the text to find.
    let mut b = app(Theme::Dark, (80, 24));
    press(&mut b, "<enter>");
    let effects = press(&mut b, "/partner");
    assert!(effects.is_empty());
    assert_eq!((b.screen, b.lesson), (Screen::Lesson, 0), "no letter acted");
    assert_eq!(b.finding.as_deref(), Some("partner"));
    press(&mut b, "<esc>");
    assert!(b.finding.is_none());
}

#[test]
fn only_an_explicit_check_counts_and_rates() {
    let mut a = app(Theme::Dark, (120, 40));
    open_exercise(&mut a, "https-only-bucket");
    let attempts = |a: &App| {
        a.progress
            .exercises
            .get("https-only-bucket")
            .map_or(0, |p| p.attempts)
    };
    let effects = a.update(Msg::Returned);
    assert!(!effects.contains(&Effect::Check), "{effects:?}");
    assert_eq!(attempts(&a), 0);
    assert!(a.message.contains("F5"), "{}", a.message);
    assert_eq!(press(&mut a, "<F5>"), vec![Effect::Check]);
}

#[test]
fn the_command_line_edits_like_readline_and_scrolls_sideways() {
    let mut a = app(Theme::Mono, (80, 24));
    open_exercise(&mut a, "https-only-bucket");
    let policy = r#"aws s3api put-bucket-policy --bucket {{bucket}} --policy '{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{{bucket}}","arn:aws:s3:::{{bucket}}/*"],"Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}'"#.to_string();
    press(&mut a, &policy.replace('<', "<lt>"));
    let input = |a: &App| a.exercise.as_ref().unwrap().input.clone();
    assert_eq!(input(&a), policy);
    // The end of a long line is on screen while typing.
    let screen = screen_text(&a);
    assert!(screen.contains("\"true\"}}}]}'"), "{screen}");
    // Fix the mistake in the middle: `true` should be `false`.
    press(&mut a, "<C-a>");
    assert_eq!(a.exercise.as_ref().unwrap().cursor, 0);
    let screen = screen_text(&a);
    assert!(screen.contains("> aws s3api put-bucket-policy"), "{screen}");
    press(&mut a, "<C-e>");
    for _ in 0..7 {
        press(&mut a, "<left>");
    }
    press(&mut a, "<backspace><backspace><backspace><backspace>false");
    assert!(
        input(&a).ends_with("\"aws:SecureTransport\":\"false\"}}}]}'"),
        "{}",
        input(&a)
    );
    // Alt-b moves by words of letters and digits; Ctrl-k cuts to the end.
    press(&mut a, "<A-b><A-b><del>");
    press(&mut a, "<C-k>");
    assert!(input(&a).ends_with("\"aws:"), "{}", input(&a));
    // Ctrl-w cuts back to the previous space, as in bash.
    press(&mut a, "<C-w>");
    assert!(input(&a).ends_with("--policy "), "{}", input(&a));
    press(&mut a, "<C-u>");
    assert_eq!(input(&a), "");
    // A multi-line paste becomes one command line.
    a.update(Msg::Paste("aws kms create-key\n  --description x\n".into()));
    assert_eq!(input(&a), "aws kms create-key   --description x");
    assert_eq!(press(&mut a, "<C-x>"), vec![Effect::EditLine(input(&a))]);
}

#[test]
fn the_help_of_the_busiest_screen_scrolls_to_its_last_line_at_80x24() {
    let mut a = app(Theme::Mono, (80, 24));
    open_exercise(&mut a, "https-only-bucket");
    assert_eq!(a.context(), Context::Console);
    press(&mut a, "<F1>");
    assert!(a.help);
    let top = screen_text(&a);
    assert!(top.contains("Keys here"), "{top}");
    assert!(
        !top.contains("Esc, ? or F1 closes this"),
        "the console has more keys than 24 rows hold, so the test scrolls: {top}"
    );
    press(&mut a, "G");
    let end = screen_text(&a);
    assert!(end.contains("Esc, ? or F1 closes this"), "{end}");
    assert!(end.contains("delete the word before"), "{end}");
    press(&mut a, "<esc>");
    assert!(!a.help);
    assert_eq!(
        a.context(),
        Context::Console,
        "closing help goes back to the console"
    );
}

#[test]
fn localstack_starting_in_docker_shows_its_progress_then_its_container() {
    for size in [(80, 24), (120, 40)] {
        let mut a = app(Theme::Dark, size);
        a.update(Msg::Worker(WorkerEvent::BackendStarting(
            "LocalStack (keylab/localstack:4.9.2) in Docker".into(),
        )));
        a.update(Msg::Tick(t0() + Duration::seconds(4)));
        let last_row = |a: &App| screen_text(a).lines().last().unwrap().to_string();
        assert!(
            last_row(&a).contains("Starting LocalStack (keylab/localstack:4.9.2) in Docker… 4 s"),
            "{size:?}: {}",
            last_row(&a)
        );
        // The lessons can be read meanwhile: the keys still move through the course.
        press(&mut a, "j");
        assert!(last_row(&a).contains("Starting LocalStack"));
        let place = "LocalStack in container 0123456789ab (shared: keylab localstack up)";
        a.update(Msg::Worker(WorkerEvent::BackendReady(place.into())));
        assert!(
            last_row(&a).contains(&format!("{place} is ready.")),
            "{size:?}: {}",
            last_row(&a)
        );
        a.message.clear();
        let shown = last_row(&a);
        assert_eq!(
            shown.contains(place),
            size.0 >= 100,
            "{size:?}: the container stays in the status bar where there is room: {shown}"
        );
    }
    let mut failed = app(Theme::Dark, (80, 24));
    failed.update(Msg::Worker(WorkerEvent::BackendStarting(
        "LocalStack".into(),
    )));
    failed.update(Msg::Worker(WorkerEvent::BackendFailed(
        "--backend localstack: the image x:1 is not on this machine".into(),
    )));
    let row = screen_text(&failed).lines().last().unwrap().to_string();
    assert!(
        row.contains("the image x:1 is not on this machine"),
        "{row}"
    );
    assert!(!row.contains("Starting"), "{row}");
}
