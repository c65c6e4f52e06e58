//! The TUI without a terminal: key-sequence tests of the pure `update`, snapshots of every
//! screen (80×24 and 120×40, dark and mono) through ratatui's `TestBackend`, every lesson drawn
//! at every width from 40 to 160, and the plain mode solving an exercise line by line.

use std::collections::BTreeMap;
use std::sync::Arc;

use keylab::lab::grader::{CheckResult, Status};
use keylab::lab::progress::{DataDir, Progress};
use keylab::pack::Pack;
use keylab::tui::app::{App, Effect, Msg, Screen};
use keylab::tui::keymap::parse_keys;
use keylab::tui::theme::Theme;
use keylab::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(theme: Theme, size: (u16, u16)) -> App {
    let pack = Arc::new(Pack::embedded().unwrap());
    let progress = Progress {
        seed: 42,
        exercises: BTreeMap::new(),
    };
    let mut app = App::new(pack, progress, theme, size);
    app.backend = "engine https://127.0.0.1:4511".into();
    app
}

/// The keys that open lesson 4 ("Encryption in transit", whose first exercise is
/// https-only-bucket) from the top of the course map: 15 rows down.
const TO_LESSON_4: &str = "jjjjjjjjjjjjjjj<enter>";

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
    app.update(Msg::ExerciseReady {
        id: id.into(),
        instructions: keylab::lab::vars::substitute(&x.readme, &vars()).unwrap(),
        explanation: keylab::lab::vars::substitute(&x.spec.explanation, &vars()).unwrap(),
        vars: vars(),
        backend: "engine https://127.0.0.1:4511".into(),
        files: vec!["README.md".into(), "report.csv".into()],
    });
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
    press(&mut a, "jjjjj<enter>");
    assert_eq!(
        (a.screen, a.lesson),
        (Screen::Lesson, 1),
        "the sixth row is lesson 2, after lesson 1's four exercises"
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
            Effect::OpenExercise("https-only-bucket".into())
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
        vec![Effect::Run(
            "aws s3api head-object --bucket keylab-test-000000 --key report.csv".into()
        )]
    );
    assert!(press(&mut a, "ls<enter>").is_empty(), "one job at a time");
    a.update(Msg::CommandDone(
        keylab::console::Outcome {
            stdout: "{\n    \"ETag\": \"x\"\n}\n".into(),
            ..Default::default()
        },
        vec!["README.md".into(), "report.csv".into()],
    ));
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
    press(&mut a, "HHH");
    assert_eq!(
        a.exercise.as_ref().unwrap().hints_shown,
        3,
        "the ladder stops at its last rung"
    );
    assert_eq!(press(&mut a, "c"), vec![Effect::Check]);
    assert_eq!(
        press(&mut a, "c"),
        vec![],
        "a running check is not started twice"
    );
    a.update(Msg::CheckDone(
        vec![result("plain HTTP is denied", Status::Fail)],
        "2026-11-23T00:00:00Z".into(),
    ));
    assert_eq!(press(&mut a, "n"), vec![], "moving on needs a pass");
    press(&mut a, "t");
    assert!(a.exercise.as_ref().unwrap().show_trace);
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
    let effects = a.update(Msg::CheckDone(
        vec![result("plain HTTP is denied", Status::Pass)],
        "2026-11-23T00:00:00Z".into(),
    ));
    assert_eq!(effects, vec![Effect::SaveProgress]);
    let p = &a.progress.exercises["https-only-bucket"];
    assert_eq!(
        (p.attempts, p.passed_at.as_deref()),
        (2, Some("2026-11-23T00:00:00Z"))
    );
    assert_eq!(a.mark("https-only-bucket").1, "done");
    assert_eq!(
        press(&mut a, "n"),
        vec![
            Effect::CloseExercise,
            Effect::OpenExercise("tls-floor".into())
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
    exercise.update(Msg::CommandDone(
        keylab::console::Outcome {
            stderr: "An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist\n".into(),
            code: 254,
            ..Default::default()
        },
        vec![],
    ));
    press(&mut exercise, "<esc>H");
    exercise.update(Msg::CheckDone(
        vec![
            result(
                "plain HTTP is denied for the bucket and its objects",
                Status::Fail,
            ),
            result("a real download over HTTPS still works", Status::Pass),
        ],
        "2026-11-23T00:00:00Z".into(),
    ));
    press(&mut exercise, "t");
    let mut help = app(theme, size);
    press(&mut help, "<enter>?");
    vec![
        ("map", map),
        ("lesson", lesson),
        ("exercise", exercise),
        ("help", help),
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
        for width in 40..=160 {
            let mut a = app(Theme::Dark, (width, 30));
            a.update(Msg::Resize(width, 30));
            // Open lesson i from the map: its row is after the previous lessons and exercises.
            let row = a
                .rows()
                .iter()
                .position(|r| *r == keylab::tui::app::Row::Lesson(i))
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
    let script =
        format!("list\nread 4\nopen https-only-bucket\ncheck\nhint\n{first}\ncheck\nquit\n");
    let mut out = Vec::new();
    keylab::tui::plain::run(
        pack,
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
    assert!(out.contains("3 of 3 checks passed"), "{out}");
    let progress = Progress::load(&data.path().join("progress.json")).unwrap();
    let p = &progress.exercises["https-only-bucket"];
    assert!(p.passed_at.is_some() && p.hints_used == 1 && p.attempts == 2);
}
