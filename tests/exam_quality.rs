//! Exam practice measures knowledge, not tells: a candidate who answers blind (always the first
//! option, or always the longest) fails the mock exam, driven through `keylab exam` as a
//! learner would, reading each question from the screen; and the pack lint refuses each tell.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use keylab::lab::progress::Progress;

/// How a blind candidate answers a question from its options as shown.
#[derive(Debug, Clone, Copy)]
enum Blind {
    /// The first option (the first two or three for multiple response).
    First,
    /// The longest option (the longest two or three).
    Longest,
}

impl Blind {
    fn answer(self, options: &[(char, String)], choose: usize) -> String {
        let mut ranked: Vec<&(char, String)> = options.iter().collect();
        if let Blind::Longest = self {
            ranked.sort_by_key(|(_, text)| std::cmp::Reverse(text.chars().count()));
        }
        let mut letters: Vec<char> = ranked.iter().take(choose).map(|(l, _)| *l).collect();
        letters.sort_unstable();
        letters.into_iter().collect()
    }
}

/// Runs a 40-question `keylab exam` for a learner with `seed`, answering every question blind
/// from what the screen shows; returns the share answered right.
fn blind_exam(seed: u64, strategy: Blind) -> f64 {
    let data = tempfile::tempdir().unwrap();
    Progress::new(seed)
        .save(&data.path().join("progress.json"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(["exam", "--questions", "40", "--minutes", "600"])
        .env("KEYLAB_DATA_DIR", data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("keylab runs");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut options: Vec<(char, String)> = Vec::new();
    let mut score = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("  ")
            && let Some((letter, text)) = rest.split_once(") ")
            && letter.len() == 1
        {
            options.push((letter.chars().next().unwrap(), text.to_string()));
            continue;
        }
        if let Some(how) = line.strip_prefix("answer (") {
            let choose = if how.starts_with("one letter") {
                1
            } else {
                how[..1].parse().unwrap()
            };
            let answer = strategy.answer(&options, choose);
            writeln!(stdin, "{answer}").unwrap();
            options.clear();
            continue;
        }
        if let Some(rest) = line.strip_prefix("Score: ") {
            let (right, rest) = rest.split_once(" of ").unwrap();
            let total = rest.split_whitespace().next().unwrap();
            score = Some(right.parse::<f64>().unwrap() / total.parse::<f64>().unwrap());
        }
        if line.starts_with("Question ") {
            options.clear();
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    score.expect("the exam printed a score")
}

#[test]
fn blind_strategies_fail_the_mock_exam() {
    for strategy in [Blind::First, Blind::Longest] {
        let fixed = blind_exam(42, strategy);
        assert!(
            fixed <= 0.40,
            "{strategy:?} scores {:.0}% with seed 42",
            fixed * 100.0
        );
        let scores: Vec<f64> = (1..=20)
            .map(|seed| blind_exam(seed * 7919, strategy))
            .collect();
        let worst = scores.iter().copied().fold(0.0, f64::max);
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        assert!(
            worst <= 0.40,
            "{strategy:?} scores up to {:.0}% over 20 seeds (mean {:.0}%)",
            worst * 100.0,
            mean * 100.0
        );
    }
}

fn keylab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(args)
        .output()
        .expect("keylab runs")
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_built_in_pack_has_sources_and_no_tells() {
    let out = keylab(&["pack", "lint"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_lint_refuses_each_tell_and_every_unsourced_claim() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("tells");
    let pack_str = pack.to_str().unwrap();
    assert!(keylab(&["pack", "new", pack_str]).status.success());
    let questions = pack.join("lessons/questions/01-first-key.toml");
    // A correct option twice as long as the shortest, and an "all of the above".
    edit(
        &questions,
        "text = \"Create an alias for the key and have the service name the alias.\"",
        "text = \"Create an alias for the key, have the service name the alias, and later point the alias at the new key with UpdateAlias so nothing in the service changes.\"",
    );
    edit(
        &questions,
        "text = \"Grant the service a KMS grant on every key it may use.\"",
        "text = \"All of the above, in this order.\"",
    );
    // A why that does not say what makes the option tempting; no source.
    edit(
        &questions,
        "why = \"Grants decide who may use a key, not which key a name refers to; the service would still name one key.\"",
        "why = \"Wrong.\"",
    );
    edit(
        &questions,
        "source = \"https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html\"\n",
        "",
    );
    // The same stem twice (a copy of the first question under another id).
    let text = std::fs::read_to_string(&questions).unwrap();
    let first = &text[text.find("[[question]]").unwrap()
        ..text
            .find("\n[[question]]\nid = \"first-key-rotation\"")
            .unwrap()];
    let copy = first.replace("id = \"first-key-alias\"", "id = \"first-key-alias-again\"");
    std::fs::write(&questions, format!("{text}\n{copy}")).unwrap();
    // A section and an exercise without sources.
    edit(
        &pack.join("lessons/01-first-key.md"),
        "sources = [\n    \"https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html\",\n    \"https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html\",\n]",
        "sources = []",
    );
    edit(
        &pack.join("exercises/first-key/exercise.toml"),
        "sources = [",
        "unsourced = [",
    );
    let out = keylab(&["pack", "lint", "--pack", pack_str]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a pack with tells is refused: {err}");
    // The unknown field is a load error; put it back to see the teaching rules.
    assert!(err.contains("unknown field `unsourced`"), "{err}");
    edit(
        &pack.join("exercises/first-key/exercise.toml"),
        "unsourced = [",
        "sources = [",
    );
    edit(
        &pack.join("exercises/first-key/exercise.toml"),
        "sources = [\n    \"https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html\",",
        "sources = [\n    \"docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html\",",
    );
    let out = keylab(&["pack", "lint", "--pack", pack_str]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for want in [
        "question 'first-key-alias' cites no source",
        "is more than twice the shortest",
        "is \"all/none of the above\"",
        "is too short to say what makes it tempting",
        "question 'first-key-alias-again' has the same stem as 'first-key-alias'",
        "section \"Aliases and rotation\" cites no source",
        "source \"docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html\" is not an https:// address",
        "the correct option is the unique longest in 2 of 2 single-answer questions",
    ] {
        assert!(err.contains(want), "{want}:\n{err}");
    }
}
