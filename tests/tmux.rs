//! The terminal app in a real terminal: `keylab` in a private tmux server (its own socket and
//! config, a fixed 120×40 size), driven by keys as a learner would: open a lesson, open its
//! exercise, type the reference solution into the console, check, see it pass, quit; then the
//! terminal must be back in cooked mode and the progress saved. Under `CI=true` a missing tmux
//! is a failure, not a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p"])
    }

    /// Polls the screen until it contains `text` (as fish's tmux tests do).
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "waited 30 s for {text:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.cmd(&args);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn type_text(&self, text: &str) {
        self.cmd(&["send-keys", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_learner_solves_an_exercise_and_answers_a_drill_question_in_the_terminal_app() {
    if !tmux_available() {
        assert!(
            std::env::var("CI").is_err(),
            "tmux is missing: scripts/setup-test-tools installs it (CI must not skip this test)"
        );
        eprintln!("tmux is not installed: this end-to-end test did not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stty = dir.path().join("stty.txt");
    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
        _dir: tempfile::tempdir().unwrap(),
    };
    let command = format!(
        "env -u NO_COLOR TERM=xterm-256color KEYLAB_DATA_DIR={} {}; echo KEYLAB-EXITED; stty -a > {}; sleep 60",
        data.display(),
        env!("CARGO_BIN_EXE_keylab"),
        stty.display()
    );
    tmux.cmd(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "40",
        &command,
    ]);
    tmux.wait_for("Course");
    // Lesson 4 is 15 rows down: lessons 1-3 and their twelve exercises come first.
    let mut down = vec!["j"; 15];
    down.push("Enter");
    tmux.keys(&down);
    tmux.wait_for("Lesson 4 of 7: Encryption in transit");
    tmux.keys(&["e"]);
    tmux.wait_for("Ready. Type AWS CLI commands");
    let solution = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("graders/https-only-bucket/solution"),
    )
    .unwrap();
    tmux.type_text(solution.lines().next().unwrap());
    tmux.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    tmux.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("check: 3 of 3 passed — PASS");
    assert!(
        screen.contains("✓ PASS a real download over plain HTTP is refused"),
        "{screen}"
    );

    // Then one drill question from the course map: a mixed round, answered right. The round's
    // first question follows from the saved progress (seed and reviews so far).
    tmux.keys(&["Escape"]);
    tmux.wait_for("Lesson 4 of 7");
    tmux.keys(&["Escape"]);
    tmux.wait_for("exercises done");
    tmux.keys(&["d"]);
    tmux.wait_for("Mixed round");
    let pack = keylab::pack::Pack::embedded().unwrap();
    let progress = keylab::lab::progress::Progress::load(&data.join("progress.json")).unwrap();
    let round = keylab::study::drill::questions(
        &pack,
        &progress.deck,
        &keylab::study::drill::Pick::Mixed,
        chrono::Utc::now(),
        10,
        progress.seed ^ progress.deck.log.len() as u64,
    );
    let question = &pack.questions[round[0]];
    tmux.keys(&["j", "Enter"]);
    tmux.wait_for("Drill: mixed · 1 of 10");
    // The options are shuffled: find each right one on the screen, as a learner would.
    let screen = tmux.screen();
    for option in question.options.iter().filter(|o| o.correct) {
        let start: String = option
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(20)
            .collect();
        let letter = screen
            .lines()
            .find_map(|line| {
                let at = line.find(&format!(") {start}"))?;
                line[..at].chars().last()
            })
            .unwrap_or_else(|| panic!("option {start:?} is not on the screen:\n{screen}"));
        tmux.keys(&[&letter.to_string()]);
    }
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Right.");
    assert!(screen.contains("✓ correct, your pick"), "{screen}");
    let progress = keylab::lab::progress::Progress::load(&data.join("progress.json")).unwrap();
    let card = keylab::study::srs::question_card(&question.id);
    assert_eq!(
        progress.deck.tally(&card).right,
        1,
        "the answer is saved as a review"
    );
    assert!(
        progress.deck.cards.contains_key("x:https-only-bucket"),
        "the exercise's pass was rated too"
    );

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("KEYLAB-EXITED");
    assert!(
        !screen.contains("Console —"),
        "the alternate screen is gone: {screen}"
    );
    let started = Instant::now();
    while !stty.exists()
        || std::fs::read_to_string(&stty)
            .unwrap_or_default()
            .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stty did not run"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let modes = std::fs::read_to_string(&stty).unwrap();
    let words: Vec<&str> = modes.split_whitespace().collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "raw mode is off again: {modes}"
    );
    let progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("progress.json")).unwrap()).unwrap();
    assert!(
        progress["exercises"]["https-only-bucket"]["passed_at"].is_string(),
        "{progress}"
    );
}
