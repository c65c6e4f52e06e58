//! The drill round and the mock exam line by line, for `keylab --plain`, `keylab drill` and
//! `keylab exam`: a question, its options as `a)`, `b)` …, an answer typed as letters, then
//! (in a drill) the verdict and the reason for every option. The deck is saved after every
//! answer, so quitting loses nothing. Input and output are whatever the caller passes.

use std::io::Write;

use chrono::{DateTime, Duration, Utc};

use super::drill::parse_answer;
use super::exam::{Score, score};
use super::showing::{ids_of, letter, letters_of, next_order};
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

/// A question as text: header, stem and options lettered in the order shown.
pub fn question_text(q: &Question, order: &[usize], header: &str) -> String {
    let mut s = format!("\n{header}\n{}\n", q.stem.trim());
    for (k, &id) in order.iter().enumerate() {
        s.push_str(&format!("  {}) {}\n", letter(k), q.options[id].text.trim()));
    }
    s
}

/// The verdict on `picked` (option ids): `Right.` or `Not right: the answer is a, c.` with the
/// letters as shown.
pub fn verdict(q: &Question, order: &[usize], picked: &[usize]) -> String {
    if q.is_right(picked) {
        "Right.".into()
    } else {
        format!(
            "Not right: the answer is {}.",
            letters_of(order, &q.correct_options())
        )
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

/// The verdict and every option's reason, in the order shown.
pub fn feedback_text(q: &Question, order: &[usize], picked: &[usize]) -> String {
    let mut s = verdict(q, order, picked) + "\n";
    for (k, &id) in order.iter().enumerate() {
        let o = &q.options[id];
        let mark = option_mark(o.correct, picked.contains(&id));
        s.push_str(&format!(
            "  {}) {} — {mark}: {}\n",
            letter(k),
            o.text.trim(),
            o.why.trim()
        ));
    }
    s
}

/// A missed question for the review at the end of a round or exam: the stem, the learner's
/// answer and the right one (as shown), and every option's reason.
pub fn missed_text(q: &Question, order: &[usize], picked: Option<&[usize]>) -> String {
    let yours = match picked {
        Some(p) if !p.is_empty() => letters_of(order, p),
        _ => "no answer".into(),
    };
    format!(
        "\n{} ({}, {})\nYour answer: {yours}. The answer: {}.\n{}",
        q.stem.trim(),
        q.id,
        q.item,
        letters_of(order, &q.correct_options()),
        feedback_text(q, order, picked.unwrap_or(&[]))
            .split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_string())
    )
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

/// Runs a drill round over `round` (question indexes), reading answers from `lines`; options
/// are shown in the order of the learner's `seed` for this showing. The round ends with every
/// missed question again, with its answer and reasons.
#[allow(clippy::too_many_arguments)]
pub fn drill(
    pack: &Pack,
    deck: &mut Deck,
    seed: u64,
    round: &[usize],
    lines: &mut dyn Iterator<Item = String>,
    out: &mut dyn Write,
    clock: Clock,
    save: Save,
) -> Result<RoundSummary, String> {
    let mut summary = RoundSummary::default();
    let mut missed = Vec::new();
    'questions: for (n, &index) in round.iter().enumerate() {
        let q = &pack.questions[index];
        let order = next_order(deck, seed, q);
        let header = format!(
            "Question {} of {} · {} · lesson {}",
            n + 1,
            round.len(),
            q.item,
            q.lesson
        );
        say(out, &question_text(q, &order, &header));
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
                    Ok(places) => {
                        let picked = ids_of(&order, &places);
                        let right = q.is_right(&picked);
                        say(out, &feedback_text(q, &order, &picked));
                        deck.review_answer(
                            &question_card(&q.id),
                            answer_rating(right),
                            clock(),
                            "drill",
                            Some(&picked),
                        );
                        save(deck)?;
                        if right {
                            summary.right += 1;
                        } else {
                            summary.wrong += 1;
                            missed.push((index, order, picked));
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
    if !missed.is_empty() {
        say(out, "\nMissed this round:");
    }
    for (index, order, picked) in &missed {
        say(
            out,
            &missed_text(&pack.questions[*index], order, Some(picked)),
        );
    }
    Ok(summary)
}

/// Runs a mock exam over `questions` with `minutes` allowed: no feedback until the end, then
/// the score, the breakdown per item and the right answers of the questions missed. Every
/// question is then reviewed in the deck (right → Good, wrong or unanswered → Again).
#[allow(clippy::too_many_arguments)]
pub fn exam(
    pack: &Pack,
    deck: &mut Deck,
    seed: u64,
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
            "Mock exam: {} questions, {minutes} minutes. No feedback until the end; s skips, q hands in (F in the full-screen app).",
            questions.len()
        ),
    );
    let mut answers: Vec<(usize, Option<Vec<usize>>)> =
        questions.iter().map(|&i| (i, None)).collect();
    let orders: Vec<Vec<usize>> = questions
        .iter()
        .map(|&i| next_order(deck, seed, &pack.questions[i]))
        .collect();
    'questions: for (n, answer) in answers.iter_mut().enumerate() {
        let q = &pack.questions[answer.0];
        let order = &orders[n];
        let left = (deadline - clock()).num_seconds().max(0);
        let header = format!(
            "Question {} of {} · {}:{:02} left",
            n + 1,
            questions.len(),
            left / 60,
            left % 60
        );
        say(out, &question_text(q, order, &header));
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
                    Ok(places) => {
                        answer.1 = Some(ids_of(order, &places));
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
    say(
        out,
        "\nReview: every question, with your answer and why each option is right or wrong.",
    );
    for ((index, picked), order) in answers.iter().zip(&orders) {
        let q = &pack.questions[*index];
        let mark = if picked.as_deref().is_some_and(|p| q.is_right(p)) {
            "RIGHT"
        } else {
            "MISSED"
        };
        say(
            out,
            &format!("\n[{mark}]{}", missed_text(q, order, picked.as_deref())),
        );
    }
    Ok(result)
}
