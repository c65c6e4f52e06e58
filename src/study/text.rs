//! The drill round and the mock exam line by line, for `keylab --plain`, `keylab drill` and
//! `keylab exam`: a question, its options as `a)`, `b)` …, an answer typed as letters, then
//! (in a drill) the verdict and the reason for every option. The deck is saved after every
//! answer, so quitting loses nothing. Input and output are whatever the caller passes.

use std::io::Write;

use chrono::{DateTime, Duration, Utc};

use super::drill::parse_answer;
use super::exam::{Score, score};
use super::srs::{Deck, answer_rating, question_card};
use crate::pack::Pack;
use crate::pack::model::Question;

/// The time, from the caller (the real clock, or a fixed one in tests).
pub type Clock<'a> = &'a dyn Fn() -> DateTime<Utc>;

/// Saves the deck after each answer.
pub type Save<'a> = &'a mut dyn FnMut(&Deck) -> Result<(), String>;

fn say(out: &mut dyn Write, text: &str) {
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// The option letter of an index.
pub fn letter(i: usize) -> char {
    char::from(b'a' + i as u8)
}

/// A question as text: header, stem and lettered options.
pub fn question_text(q: &Question, header: &str) -> String {
    let mut s = format!("\n{header}\n{}\n", q.stem.trim());
    for (i, o) in q.options.iter().enumerate() {
        s.push_str(&format!("  {}) {}\n", letter(i), o.text.trim()));
    }
    s
}

/// The letters of a question's answer (`a, c`).
fn answer_letters(q: &Question) -> String {
    let letters: Vec<String> = q
        .correct_options()
        .into_iter()
        .map(|i| letter(i).to_string())
        .collect();
    letters.join(", ")
}

/// The verdict on `picked`: `Right.` or `Not right: the answer is a, c.`
pub fn verdict(q: &Question, picked: &[usize]) -> String {
    if q.is_right(picked) {
        "Right.".into()
    } else {
        format!("Not right: the answer is {}.", answer_letters(q))
    }
}

/// What an option was, once answered: correct or wrong, and whether it was picked.
pub fn option_mark(correct: bool, picked: bool) -> &'static str {
    match (correct, picked) {
        (true, true) => "✓ correct, your pick",
        (true, false) => "✓ correct, missed",
        (false, true) => "✗ wrong, your pick",
        (false, false) => "✗ wrong",
    }
}

/// The verdict and every option's reason.
pub fn feedback_text(q: &Question, picked: &[usize]) -> String {
    let mut s = verdict(q, picked) + "\n";
    for (i, o) in q.options.iter().enumerate() {
        let mark = option_mark(o.correct, picked.contains(&i));
        s.push_str(&format!("  {}) {mark}: {}\n", letter(i), o.why.trim()));
    }
    s
}

fn prompt(q: &Question) -> String {
    let how = match q.choose {
        1 => "one letter".to_string(),
        n => format!("{n} letters"),
    };
    format!("answer ({how}; s skips, q stops) >")
}

/// What a drill round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundSummary {
    /// Answered right.
    pub right: usize,
    /// Answered wrong.
    pub wrong: usize,
    /// Skipped.
    pub skipped: usize,
}

/// Runs a drill round over `round` (question indexes), reading answers from `lines`.
pub fn drill(
    pack: &Pack,
    deck: &mut Deck,
    round: &[usize],
    lines: &mut dyn Iterator<Item = String>,
    out: &mut dyn Write,
    clock: Clock,
    save: Save,
) -> Result<RoundSummary, String> {
    let mut summary = RoundSummary::default();
    'questions: for (n, &index) in round.iter().enumerate() {
        let q = &pack.questions[index];
        let header = format!(
            "Question {} of {} · {} · lesson {}",
            n + 1,
            round.len(),
            q.item,
            q.lesson
        );
        say(out, &question_text(q, &header));
        loop {
            say(out, &prompt(q));
            let Some(line) = lines.next() else {
                break 'questions;
            };
            match line.trim() {
                "q" | "quit" => break 'questions,
                "s" | "skip" => {
                    summary.skipped += 1;
                    continue 'questions;
                }
                text => match parse_answer(text, q.options.len(), q.choose) {
                    Err(e) => say(out, &e),
                    Ok(picked) => {
                        let right = q.is_right(&picked);
                        say(out, &feedback_text(q, &picked));
                        deck.review(
                            &question_card(&q.id),
                            answer_rating(right),
                            clock(),
                            "drill",
                        );
                        save(deck)?;
                        if right {
                            summary.right += 1;
                        } else {
                            summary.wrong += 1;
                        }
                        continue 'questions;
                    }
                },
            }
        }
    }
    say(
        out,
        &format!(
            "Round over: {} right, {} wrong, {} skipped. Wrong answers come back for review soon.",
            summary.right, summary.wrong, summary.skipped
        ),
    );
    Ok(summary)
}

/// Runs a mock exam over `questions` with `minutes` allowed: no feedback until the end, then
/// the score, the breakdown per item and the right answers of the questions missed. Every
/// question is then reviewed in the deck (right → Good, wrong or unanswered → Again).
#[allow(clippy::too_many_arguments)]
pub fn exam(
    pack: &Pack,
    deck: &mut Deck,
    questions: &[usize],
    minutes: u32,
    lines: &mut dyn Iterator<Item = String>,
    out: &mut dyn Write,
    clock: Clock,
    save: Save,
) -> Result<Score, String> {
    let deadline = clock() + Duration::minutes(i64::from(minutes));
    say(
        out,
        &format!(
            "Mock exam: {} questions, {minutes} minutes. No feedback until the end; s skips, q hands in.",
            questions.len()
        ),
    );
    let mut answers: Vec<(usize, Option<Vec<usize>>)> =
        questions.iter().map(|&i| (i, None)).collect();
    'questions: for (n, answer) in answers.iter_mut().enumerate() {
        let q = &pack.questions[answer.0];
        let left = (deadline - clock()).num_seconds().max(0);
        let header = format!(
            "Question {} of {} · {}:{:02} left",
            n + 1,
            questions.len(),
            left / 60,
            left % 60
        );
        say(out, &question_text(q, &header));
        loop {
            say(out, &prompt(q));
            let Some(line) = lines.next() else {
                break 'questions;
            };
            if clock() > deadline {
                say(out, "Time is up: the rest are unanswered.");
                break 'questions;
            }
            match line.trim() {
                "q" | "quit" => break 'questions,
                "s" | "skip" => continue 'questions,
                text => match parse_answer(text, q.options.len(), q.choose) {
                    Err(e) => say(out, &e),
                    Ok(picked) => {
                        answer.1 = Some(picked);
                        continue 'questions;
                    }
                },
            }
        }
    }
    let result = score(pack, &answers);
    super::exam::review(pack, deck, &answers, clock());
    save(deck)?;
    say(out, "");
    for line in result.to_lines() {
        say(out, &line);
    }
    for (index, picked) in &answers {
        let q = &pack.questions[*index];
        if picked.as_deref().is_some_and(|p| q.is_right(p)) {
            continue;
        }
        say(out, &format!("\nMissed ({}): {}", q.id, q.stem.trim()));
        say(out, &feedback_text(q, picked.as_deref().unwrap_or(&[])));
    }
    Ok(result)
}
