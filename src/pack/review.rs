//! The teaching-quality rules `keylab pack lint` adds to loading: every claim is sourced, and
//! exam questions have no tells. A pack that breaks them still opens (a learner can use it);
//! an author's CI fails on them.
//!
//! Sources: every tagged lesson section, every question and every exercise names the pages
//! that back it (`https://…`). Tells, per question: an option more than twice as long as the
//! shortest (unless `length_note` says why), "all/none of the above", an option whose `why`
//! is too short to say what makes it tempting, and two questions with the same stem. Across
//! the bank: the correct option may be the unique longest in at most [`MAX_LONGEST_CORRECT`]
//! of single-answer questions, or "pick the longest" beats guessing.

use std::collections::BTreeMap;

use super::{Pack, PackError, Question};

/// The share of single-answer questions whose correct option may be the unique longest.
pub const MAX_LONGEST_CORRECT: f64 = 0.30;

/// The longest option may be at most this many times as long as the shortest.
pub const MAX_LENGTH_RATIO: f64 = 2.0;

/// The shortest `why` of a wrong option: enough to name the misconception.
pub const MIN_WHY_CHARS: usize = 40;

/// Every teaching-quality problem of `pack`, each with its file, line and fix.
pub fn problems(pack: &Pack) -> Vec<PackError> {
    let mut out = Vec::new();
    sources(pack, &mut out);
    let mut stems: BTreeMap<String, &Question> = BTreeMap::new();
    for q in &pack.questions {
        question(pack, q, &mut out);
        let key = normalised(&q.stem);
        match stems.get(&key) {
            Some(first) => out.push(PackError::new(
                pack.files.display(&q.path),
                Some(q.line),
                format!(
                    "question '{}' has the same stem as '{}' ({}:{})",
                    q.id,
                    first.id,
                    pack.files.display(&first.path),
                    first.line
                ),
                "write a different scenario, or remove one",
            )),
            None => {
                stems.insert(key, q);
            }
        }
    }
    longest_correct(pack, &mut out);
    out
}

fn is_source(url: &str) -> bool {
    url.starts_with("https://") && url.len() > "https://".len() + 3
}

fn sources(pack: &Pack, out: &mut Vec<PackError>) {
    for lesson in &pack.lessons {
        let file = pack.files.display(&lesson.path);
        for (heading, section) in &lesson.sections {
            cited(
                &file,
                &format!("section \"{heading}\""),
                &section.sources,
                out,
            );
        }
    }
    for x in &pack.exercises {
        let file = pack
            .files
            .display(&format!("exercises/{}/exercise.toml", x.id));
        cited(&file, "the explanation", &x.spec.sources, out);
    }
}

/// Checks that `what` cites at least one source and that every source is an https address.
fn cited(file: &str, what: &str, sources: &[String], out: &mut Vec<PackError>) {
    if sources.is_empty() {
        out.push(PackError::new(
            file,
            None,
            format!("{what} cites no source"),
            "add sources = [\"https://…\"]: the AWS pages (or standards) that say it",
        ));
    }
    for bad in sources.iter().filter(|s| !is_source(s)) {
        out.push(PackError::new(
            file,
            None,
            format!("{what}: source {bad:?} is not an https:// address"),
            "cite the page by its https:// URL",
        ));
    }
}

fn question(pack: &Pack, q: &Question, out: &mut Vec<PackError>) {
    let file = pack.files.display(&q.path);
    let mut problem = |message: String, fix: &str| {
        out.push(PackError::new(&file, Some(q.line), message, fix));
    };
    if !q.source.as_deref().is_some_and(is_source) {
        problem(
            format!("question '{}' cites no source", q.id),
            "add source = \"https://…\", the page that backs the correct answer",
        );
    }
    let lengths: Vec<usize> = q
        .options
        .iter()
        .map(|o| o.text.trim().chars().count())
        .collect();
    let (shortest, longest) = (
        lengths.iter().copied().min().unwrap_or(0).max(1),
        lengths.iter().copied().max().unwrap_or(0),
    );
    if longest as f64 > MAX_LENGTH_RATIO * shortest as f64 && q.length_note.is_none() {
        problem(
            format!(
                "question '{}': the longest option ({longest} characters) is more than twice the shortest ({shortest}), a tell",
                q.id
            ),
            "balance the options' length, or say why one must be longer in length_note",
        );
    }
    for (i, o) in q.options.iter().enumerate() {
        let text = o.text.to_lowercase();
        if text.contains("all of the above") || text.contains("none of the above") {
            problem(
                format!(
                    "question '{}': option {} is \"all/none of the above\"",
                    q.id,
                    i + 1
                ),
                "write a real option: the exam has none of these",
            );
        }
        if !o.correct && o.why.trim().chars().count() < MIN_WHY_CHARS {
            problem(
                format!(
                    "question '{}': the why of option {} is too short to say what makes it tempting",
                    q.id,
                    i + 1
                ),
                "say which misconception leads a candidate to pick it, and why it fails",
            );
        }
    }
}

/// Whether the correct option of a single-answer question is the unique longest.
pub fn correct_is_unique_longest(q: &Question) -> bool {
    if q.is_multiple() {
        return false;
    }
    let lengths: Vec<usize> = q
        .options
        .iter()
        .map(|o| o.text.trim().chars().count())
        .collect();
    let longest = lengths.iter().copied().max().unwrap_or(0);
    let at_longest: Vec<usize> = (0..lengths.len())
        .filter(|&i| lengths[i] == longest)
        .collect();
    at_longest.len() == 1 && q.options[at_longest[0]].correct
}

/// Whether the correct options of a multiple-response question are exactly its N longest.
pub fn correct_are_the_longest(q: &Question) -> bool {
    if !q.is_multiple() {
        return false;
    }
    let mut by_length: Vec<usize> = (0..q.options.len()).collect();
    by_length.sort_by_key(|&i| std::cmp::Reverse(q.options[i].text.trim().chars().count()));
    let length = |i: usize| q.options[i].text.trim().chars().count();
    let nth = length(by_length[q.choose - 1]);
    let next = by_length.get(q.choose).map_or(0, |&i| length(i));
    nth > next && by_length[..q.choose].iter().all(|&i| q.options[i].correct)
}

fn longest_correct(pack: &Pack, out: &mut Vec<PackError>) {
    let multiple: Vec<&Question> = pack.questions.iter().filter(|q| q.is_multiple()).collect();
    let tells: Vec<&str> = multiple
        .iter()
        .filter(|q| correct_are_the_longest(q))
        .map(|q| q.id.as_str())
        .collect();
    if !multiple.is_empty() && tells.len() as f64 > MAX_LONGEST_CORRECT * multiple.len() as f64 {
        out.push(PackError::new(
            "lessons/questions",
            None,
            format!(
                "the correct options are the longest ones in {} of {} multiple-response questions: picking the longest would pass ({})",
                tells.len(),
                multiple.len(),
                tells.join(", ")
            ),
            "make some distractors as complete as the keys, or the keys shorter",
        ));
    }
    let single: Vec<&Question> = pack.questions.iter().filter(|q| !q.is_multiple()).collect();
    if single.is_empty() {
        return;
    }
    let tells: Vec<&&Question> = single
        .iter()
        .filter(|q| correct_is_unique_longest(q))
        .collect();
    let share = tells.len() as f64 / single.len() as f64;
    if share > MAX_LONGEST_CORRECT {
        let ids: Vec<&str> = tells.iter().map(|q| q.id.as_str()).collect();
        out.push(PackError::new(
            "lessons/questions",
            None,
            format!(
                "the correct option is the unique longest in {} of {} single-answer questions ({:.0}%, at most {:.0}% allowed): picking the longest would pass ({})",
                tells.len(),
                single.len(),
                share * 100.0,
                MAX_LONGEST_CORRECT * 100.0,
                ids.join(", ")
            ),
            "make distractors as complete as the key, or the key shorter, in some of these",
        ));
    }
}

/// A stem for comparison: lower case, one space between words.
fn normalised(stem: &str) -> String {
    stem.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
