//! The terminal app in a real terminal: `keylab` in a private tmux server (its own socket and
//! config, a fixed size), driven by keys as a learner would. At 120×40: open a lesson, open its
//! exercise, type the reference solution into the console, check, see it pass, quit; then the
//! terminal must be back in cooked mode and the progress saved. At 80×24: page a lesson to its
//! last line, type a policy far longer than the pane, fail, read the whole trace, fix the middle
//! of the recalled command with readline keys, pass, read the explanation to its end, and Esc
//! back to the map. Under `CI=true` a missing tmux is a failure, not a skip.

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

    /// The screen's text without box borders, rows joined by spaces: wrapped sentences read
    /// as one line.
    fn prose(&self) -> String {
        let rows: Vec<String> = self
            .screen()
            .lines()
            .map(|l| {
                l.trim_matches(|c: char| c == '│' || c.is_whitespace())
                    .to_string()
            })
            .collect();
        rows.join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Polls the joined text (see [`Tmux::prose`]) until it contains `text`.
    fn wait_for_prose(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let prose = self.prose();
            if prose.contains(text) {
                return prose;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "waited 30 s for {text:?}; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls until the console's prompt is `> ` with nothing typed: the last command is done
    /// (a running one shows `… `).
    fn wait_for_prompt(&self) {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            let idle = screen.lines().any(|line| {
                line.split('│').any(|cell| {
                    cell.starts_with("> ") && cell[2..].trim().is_empty() || cell == ">"
                })
            });
            if idle {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "waited 30 s for an empty prompt; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts keylab at `width`×`height` with its data in `data`; `after` runs once it exits.
    fn start(dir: &Path, data: &Path, (width, height): (u16, u16), after: &str) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
            _dir: tempfile::tempdir().unwrap(),
        };
        let command = format!(
            "env -u NO_COLOR TERM=xterm-256color KEYLAB_DATA_DIR={} {}; {after}",
            data.display(),
            env!("CARGO_BIN_EXE_keylab"),
        );
        let (width, height) = (width.to_string(), height.to_string());
        tmux.cmd(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            &height,
            &command,
        ]);
        // Esc reaches the app at once, not as the Alt prefix of the next key.
        tmux.cmd(&["set-option", "-s", "escape-time", "0"]);
        tmux
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

/// The course map's rows above lesson `order`: each earlier lesson and its exercises.
fn rows_before_lesson(order: u32) -> usize {
    let pack = keylab::pack::Pack::embedded().unwrap();
    pack.lessons
        .iter()
        .filter(|l| l.order < order)
        .map(|l| 1 + l.exercises.len())
        .sum()
}

/// False (after saying so) when tmux is missing outside CI; under `CI=true` a failure.
fn tmux_or_skip() -> bool {
    if tmux_available() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "tmux is missing: scripts/setup-test-tools installs it (CI must not skip this test)"
    );
    eprintln!("tmux is not installed: this end-to-end test did not run");
    false
}

#[test]
fn a_learner_solves_an_exercise_and_answers_a_drill_question_in_the_terminal_app() {
    if !tmux_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stty = dir.path().join("stty.txt");
    let after = format!("echo KEYLAB-EXITED; stty -a > {}; sleep 60", stty.display());
    let tmux = Tmux::start(dir.path(), &data, (120, 40), &after);
    tmux.wait_for("Course");
    let mut down = vec!["j"; rows_before_lesson(4)];
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
    tmux.wait_for_prompt();
    tmux.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["c"]);
    // A pass opens the details: every check and why it works.
    let screen = tmux.wait_for("Why it works");
    assert!(
        screen.contains("✓ PASS a real download over plain HTTP is refused"),
        "{screen}"
    );

    // Then one drill question from the course map: a mixed round, answered right. The round's
    // first question follows from the saved progress (seed and reviews so far).
    tmux.keys(&["Escape"]);
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
        // Options may share their first words: match the whole row an option starts on.
        let text = option.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let letter = screen
            .lines()
            .find_map(|line| {
                let line = line.trim_matches(|c: char| c == '│' || c.is_whitespace());
                let (letter, rest) = line.split_once(") ")?;
                let letter = letter.chars().last()?;
                let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
                (!rest.is_empty() && text.starts_with(&rest)).then_some(letter)
            })
            .unwrap_or_else(|| panic!("option {text:?} is not on the screen:\n{screen}"));
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

#[test]
fn a_whole_exercise_at_80x24_reads_to_every_end_and_edits_a_long_command() {
    if !tmux_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tmux = Tmux::start(dir.path(), &data, (80, 24), "sleep 60");
    tmux.wait_for("Course");
    // Lesson 4, paged to its end: the list of its exercises closes it.
    let mut down = vec!["j"; rows_before_lesson(4)];
    down.push("Enter");
    tmux.keys(&down);
    tmux.wait_for("Lesson 4 of 7: Encryption in transit");
    let started = Instant::now();
    while !tmux.prose().contains("opens the next one to do") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Space pages down to the lesson's last line:\n{}",
            tmux.screen()
        );
        tmux.keys(&["Space"]);
    }
    tmux.keys(&["G"]);
    tmux.wait_for_prose("opens the next one to do");

    // The exercise, and a policy of 300-odd characters typed into a 78-column line.
    tmux.keys(&["e"]);
    tmux.wait_for("Ready. Type AWS CLI commands");
    // The reference solution with a typo near its end: "fals" never matches, so plain HTTP
    // stays allowed (and, unlike a Deny on "true", it does not lock the console out).
    let solution = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("graders/https-only-bucket/solution"),
    )
    .unwrap();
    let command = solution
        .lines()
        .next()
        .unwrap()
        .replace("\"false\"", "\"fals\"");
    assert!(command.len() > 250, "{command}");
    tmux.type_text(&command);
    let screen = tmux.wait_for("\"fals\"}}}]}'");
    assert!(
        screen.contains('…'),
        "the line's start scrolled off, marked: {screen}"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for_prompt();
    tmux.keys(&["F5"]);
    tmux.wait_for("FAIL");
    // The whole trace, in the details opened from the console, down to its last row.
    tmux.keys(&["F2"]);
    tmux.wait_for("checks, hints, explanation");
    assert!(tmux.prose().contains("Policy trace:"), "{}", tmux.screen());
    tmux.keys(&["G"]);
    tmux.wait_for_prose("H: next hint · Esc: back to the exercise");
    tmux.keys(&["Escape"]);

    // Recall the command and fix it seven characters from its end.
    tmux.keys(&["Up"]);
    tmux.keys(&["C-e"]);
    for _ in 0..7 {
        tmux.keys(&["Left"]);
    }
    tmux.type_text("e");
    tmux.keys(&["C-a"]);
    tmux.wait_for("> aws s3api put-bucket-policy");
    tmux.keys(&["Enter"]);
    tmux.wait_for_prompt();
    tmux.keys(&["F5"]);
    // A pass opens the explanation; its end says how to move on.
    tmux.wait_for("Why it works");
    tmux.keys(&["G"]);
    tmux.wait_for_prose("n: next exercise · Esc: back to the exercise");
    // Esc closes the details, leaves the console, goes back to the lesson, then the map.
    tmux.keys(&["Escape"]);
    tmux.keys(&["Escape"]);
    tmux.keys(&["Escape"]);
    tmux.wait_for("Lesson 4 of 7");
    tmux.keys(&["Escape"]);
    let total = keylab::pack::Pack::embedded().unwrap().exercises.len();
    tmux.wait_for(&format!("1/{total} exercises done"));
    // The cursor is on the lesson just left; its first exercise is the one passed.
    tmux.keys(&["j"]);
    tmux.wait_for("[✓] Make a bucket refuse plain HTTP  done");
}
