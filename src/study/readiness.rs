//! Readiness by objective (the pack's; DEA-C01 task 4.3's items in the built-in pack): for each, the mean probability
//! of recalling its cards now (questions and exercises tagged with it; a card never reviewed
//! counts as 0), and the results so far. It is our estimate, labelled so wherever it is shown.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::srs::{Deck, exercise_card, question_card};
use crate::pack::Pack;

/// One item's readiness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemReadiness {
    /// The item (`4.3.K1`).
    pub item: String,
    /// What it asks.
    pub title: String,
    /// Its cards: questions and exercises.
    pub cards: usize,
    /// Cards reviewed at least once.
    pub seen: usize,
    /// Mean recall probability now, 0–1.
    pub recall: f64,
    /// Right answers and passed exercise reviews.
    pub right: u32,
    /// Wrong answers and failed exercise reviews.
    pub wrong: u32,
    /// Its exercises passed.
    pub exercises_passed: usize,
    /// Its exercises.
    pub exercises: usize,
}

/// Readiness of every item, in the exam guide's order; `passed` says whether an exercise has
/// passed.
pub fn by_item(
    pack: &Pack,
    deck: &Deck,
    passed: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) -> Vec<ItemReadiness> {
    pack.objectives()
        .into_iter()
        .map(|objective| {
            let item = &objective.id;
            let exercises: Vec<&str> = pack
                .exercises
                .iter()
                .filter(|x| x.spec.dea_items.iter().any(|i| i == item))
                .map(|x| x.id.as_str())
                .collect();
            let cards: Vec<String> = pack
                .questions
                .iter()
                .filter(|q| q.item == *item)
                .map(|q| question_card(&q.id))
                .chain(exercises.iter().map(|x| exercise_card(x)))
                .collect();
            let mut row = ItemReadiness {
                item: item.to_string(),
                title: objective.title.clone(),
                cards: cards.len(),
                seen: 0,
                recall: 0.0,
                right: 0,
                wrong: 0,
                exercises_passed: exercises.iter().filter(|x| passed(x)).count(),
                exercises: exercises.len(),
            };
            let mut sum = 0.0;
            for card in &cards {
                sum += deck.recall(card, now);
                row.seen += usize::from(!deck.is_new(card));
                let t = deck.tally(card);
                row.right += t.right;
                row.wrong += t.wrong;
            }
            if !cards.is_empty() {
                row.recall = sum / cards.len() as f64;
            }
            row
        })
        .collect()
}

/// The mean recall over the items, 0–1.
pub fn overall(rows: &[ItemReadiness]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter().map(|r| r.recall).sum::<f64>() / rows.len() as f64
}

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:<4} {:>6} {:>9} {:>7} {:>9}  what it asks",
        "item", "recall", "seen", "right", "exercises"
    )
}

/// One item as a table line, under [`header`].
pub fn row_text(r: &ItemReadiness) -> String {
    format!(
        "{:<4} {:>5.0}% {:>4}/{:<4} {:>3}/{:<3} {:>4}/{:<4}  {}",
        r.item.trim_start_matches("4.3."),
        r.recall * 100.0,
        r.seen,
        r.cards,
        r.right,
        r.right + r.wrong,
        r.exercises_passed,
        r.exercises,
        r.title
    )
}

/// The table for plain mode and `keylab readiness`.
pub fn to_table(rows: &[ItemReadiness]) -> String {
    let mut out = header() + "\n";
    for r in rows {
        out.push_str(&row_text(r));
        out.push('\n');
    }
    out.push_str(&format!(
        "Overall recall: {:.0}%. {}\n",
        overall(rows) * 100.0,
        super::exam::ESTIMATE_NOTE
    ));
    out
}
