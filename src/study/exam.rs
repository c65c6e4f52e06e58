//! The mock exam: a timed set of questions drawn evenly from the pack's objectives, scored only at
//! the end, all or nothing per question (as the real exam scores multiple response), with a
//! breakdown per DEA-C01 item. The percentage is our estimate from this bank, never AWS's scaled
//! score: AWS reports 100–1000 after equating forms, and unscored questions exist.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use chrono::{DateTime, Utc};

use super::srs::{Deck, answer_rating, question_card};
use crate::pack::Pack;

/// The real exam's pace: DEA-C01 gives 130 minutes for 65 questions.
pub const SECONDS_PER_QUESTION: u32 = 120;

/// Questions in a mock exam unless the learner chooses.
pub const DEFAULT_QUESTIONS: usize = 20;

/// What every readiness or exam figure says about itself.
pub const ESTIMATE_NOTE: &str = "Our estimate from this question bank, not AWS's scaled score: AWS \
reports 100-1000 (720 passes an Associate exam) after equating exam forms, and domain 4 is 16% of DEA-C01.";

/// How long and how big a mock exam is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExamConfig {
    /// Questions asked.
    pub questions: usize,
    /// Minutes allowed.
    pub minutes: u32,
}

impl ExamConfig {
    /// `questions` (default 20) in `minutes` (default: the exam's pace, 2 minutes a question).
    pub fn new(questions: Option<usize>, minutes: Option<u32>) -> Result<ExamConfig, String> {
        let questions = questions.unwrap_or(DEFAULT_QUESTIONS);
        if questions == 0 {
            return Err("--questions must be at least 1".into());
        }
        let minutes = minutes.unwrap_or((questions as u32 * SECONDS_PER_QUESTION).div_ceil(60));
        if minutes == 0 {
            return Err("--minutes must be at least 1".into());
        }
        Ok(ExamConfig { questions, minutes })
    }
}

/// Draws `count` questions (indexes into `pack.questions`), taking the items in turn so each is
/// represented, shuffled with `seed`. Fewer come back when the bank is smaller.
pub fn pick(pack: &Pack, count: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_item: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, q) in pack.questions.iter().enumerate() {
        by_item.entry(q.item.as_str()).or_default().push(i);
    }
    let objectives: Vec<String> = pack.objectives().into_iter().map(|o| o.id).collect();
    let mut items: Vec<&str> = objectives
        .iter()
        .map(String::as_str)
        .filter(|i| by_item.contains_key(i))
        .collect();
    items.extend(
        by_item
            .keys()
            .copied()
            .filter(|i| !objectives.iter().any(|o| o == i)),
    );
    for list in by_item.values_mut() {
        list.shuffle(&mut rng);
    }
    items.shuffle(&mut rng);
    let mut picked = Vec::new();
    while picked.len() < count {
        let before = picked.len();
        for item in &items {
            if picked.len() == count {
                break;
            }
            if let Some(q) = by_item.get_mut(item).and_then(Vec::pop) {
                picked.push(q);
            }
        }
        if picked.len() == before {
            break;
        }
    }
    picked.shuffle(&mut rng);
    picked
}

/// One item's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemScore {
    /// The objective (a DEA-C01 item in the built-in pack).
    pub item: String,
    /// What it asks.
    pub title: String,
    /// Right answers.
    pub right: usize,
    /// Questions asked.
    pub total: usize,
}

/// A scored exam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Right answers.
    pub right: usize,
    /// Questions asked.
    pub total: usize,
    /// Questions left unanswered (scored wrong).
    pub unanswered: usize,
    /// Per item, in the exam guide's order.
    pub items: Vec<ItemScore>,
}

impl Score {
    /// Right answers as a percentage.
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * self.right as f64 / self.total as f64
    }

    /// The score and its breakdown as text lines, with the estimate note.
    pub fn to_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "Score: {} of {} right ({:.0}%){}",
            self.right,
            self.total,
            self.percent(),
            if self.unanswered > 0 {
                format!(", {} unanswered", self.unanswered)
            } else {
                String::new()
            }
        )];
        for i in &self.items {
            lines.push(format!(
                "  {:<7} {:>2}/{:<2} {}",
                i.item, i.right, i.total, i.title
            ));
        }
        lines.push(ESTIMATE_NOTE.into());
        lines
    }
}

/// Scores answers: `(question index, picked options or None when unanswered)`. A question is
/// right only when exactly its correct options are picked.
pub fn score(pack: &Pack, answers: &[(usize, Option<Vec<usize>>)]) -> Score {
    let mut items: BTreeMap<&str, ItemScore> = BTreeMap::new();
    let mut right = 0;
    let mut unanswered = 0;
    for (index, picked) in answers {
        let Some(q) = pack.questions.get(*index) else {
            continue;
        };
        let ok = picked.as_deref().is_some_and(|p| q.is_right(p));
        unanswered += usize::from(picked.is_none());
        right += usize::from(ok);
        let entry = items.entry(q.item.as_str()).or_insert_with(|| ItemScore {
            item: q.item.clone(),
            title: pack.objective_title(&q.item),
            right: 0,
            total: 0,
        });
        entry.total += 1;
        entry.right += usize::from(ok);
    }
    let mut ordered: Vec<ItemScore> = pack
        .objectives()
        .iter()
        .filter_map(|o| items.remove(o.id.as_str()))
        .collect();
    ordered.extend(items.into_values());
    Score {
        right,
        total: answers.len(),
        unanswered,
        items: ordered,
    }
}

/// Reviews every question of a finished exam in the deck: right → Good, wrong or unanswered →
/// Again, all at `now`, with the source `exam`.
pub fn review(
    pack: &Pack,
    deck: &mut Deck,
    answers: &[(usize, Option<Vec<usize>>)],
    now: DateTime<Utc>,
) {
    for (index, picked) in answers {
        let q = &pack.questions[*index];
        let right = picked.as_deref().is_some_and(|p| q.is_right(p));
        deck.review_answer(
            &question_card(&q.id),
            answer_rating(right),
            now,
            "exam",
            Some(picked.as_deref().unwrap_or(&[])),
        );
    }
}
