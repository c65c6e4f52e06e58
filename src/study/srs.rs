//! Spaced repetition with FSRS (the `rs-fsrs` crate): every drill question and every hands-on
//! exercise is a card, identified as `q:<question id>` or `x:<exercise id>`. The deck keeps each
//! card's FSRS state and a log of every review (so parameters could later be fitted to the
//! learner), and the desired retention (0.70–0.97, as Anki allows).
//!
//! Exercise results become ratings automatically ([`exercise_rating`]): failed → Again; passed
//! after hints or failed checks → Hard; passed cleanly → Good; passed cleanly within the
//! exercise's target time → Easy. Questions: wrong → Again, right → Good. Every function takes
//! the time as an argument, so schedules can be tested with a fixed clock.
//!
//! FSRS runs with its long-term scheduler (no same-day learning steps): an exercise takes
//! minutes to redo and a drill round is a sitting, so the shortest interval is a day and a
//! lapse comes back tomorrow.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
pub use rs_fsrs::Rating;
use rs_fsrs::{Card, FSRS, Parameters, State};
use serde::{Deserialize, Serialize};

use crate::pack::model::Difficulty;

/// The desired retention when the learner has not chosen one.
pub const DEFAULT_RETENTION: f64 = 0.9;

/// The desired retention allowed (Anki's bounds).
pub const RETENTION_RANGE: std::ops::RangeInclusive<f64> = 0.70..=0.97;

/// A card's id for a drill question.
pub fn question_card(id: &str) -> String {
    format!("q:{id}")
}

/// A card's id for an exercise.
pub fn exercise_card(id: &str) -> String {
    format!("x:{id}")
}

/// Checks a desired retention, with a message that says the allowed range.
pub fn check_retention(value: f64) -> Result<f64, String> {
    if RETENTION_RANGE.contains(&value) {
        return Ok(value);
    }
    Err(format!(
        "desired retention {value} is out of range: choose from 0.70 to 0.97 (0.90 is the default; higher means more reviews)"
    ))
}

/// One review, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The card.
    pub card: String,
    /// Again, Hard, Good or Easy.
    pub rating: Rating,
    /// When.
    pub at: DateTime<Utc>,
    /// Days since the card's previous review.
    pub elapsed_days: i64,
    /// Days until the next one, as scheduled (0 for a same-day step).
    pub scheduled_days: i64,
    /// What produced it: `drill`, `exam` or `exercise`.
    pub source: String,
    /// For a question: the option ids picked (an option's place in its question file), never
    /// the letters they were shown with; empty when it was left unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Vec<usize>>,
}

/// The learner's cards and review log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deck {
    /// The desired retention (probability of recall when a card comes due).
    #[serde(default = "default_retention")]
    pub retention: f64,
    /// FSRS state per card.
    #[serde(default)]
    pub cards: BTreeMap<String, Card>,
    /// Every review, oldest first.
    #[serde(default)]
    pub log: Vec<Review>,
    /// Rate exercises pass/fail only (Good or Again), as many Anki users rate, instead of
    /// Again, Hard, Good or Easy from hints, failures and time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_fail: bool,
    /// Question reviews retired from the schedule (answers to options that were not yet
    /// shuffled): kept as history, counted nowhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<Review>,
}

fn default_retention() -> f64 {
    DEFAULT_RETENTION
}

impl Default for Deck {
    fn default() -> Deck {
        Deck {
            retention: DEFAULT_RETENTION,
            cards: BTreeMap::new(),
            log: Vec::new(),
            pass_fail: false,
            retired: Vec::new(),
        }
    }
}

/// Right and wrong answers so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Reviews rated Hard, Good or Easy.
    pub right: u32,
    /// Reviews rated Again.
    pub wrong: u32,
}

impl Deck {
    fn scheduler(&self) -> FSRS {
        FSRS::new(Parameters {
            request_retention: self.retention,
            enable_short_term: false,
            ..Parameters::default()
        })
    }

    /// Records a review of `card` at `now` and returns its new state.
    pub fn review(
        &mut self,
        card: &str,
        rating: Rating,
        now: DateTime<Utc>,
        source: &str,
    ) -> &Card {
        self.review_answer(card, rating, now, source, None)
    }

    /// Records a review of a question's card with the option ids answered (`None` when it was
    /// not answered).
    pub fn review_answer(
        &mut self,
        card: &str,
        rating: Rating,
        now: DateTime<Utc>,
        source: &str,
        answer: Option<&[usize]>,
    ) -> &Card {
        let current = self.cards.get(card).cloned().unwrap_or_else(|| Card {
            due: now,
            last_review: now,
            ..Card::default()
        });
        let info = self.scheduler().next(current, now, rating);
        self.log.push(Review {
            card: card.to_string(),
            rating,
            at: now,
            elapsed_days: info.review_log.elapsed_days,
            scheduled_days: info.card.scheduled_days,
            source: source.to_string(),
            answer: answer.map(<[usize]>::to_vec),
        });
        self.cards.insert(card.to_string(), info.card);
        &self.cards[card]
    }

    /// Retires every question card and its reviews (exercise cards stay); returns whether there
    /// were any.
    pub fn retire_questions(&mut self) -> bool {
        let before = self.cards.len();
        self.cards.retain(|card, _| !card.starts_with("q:"));
        let (questions, rest): (Vec<Review>, Vec<Review>) =
            self.log.drain(..).partition(|r| r.card.starts_with("q:"));
        self.log = rest;
        let any = !questions.is_empty() || self.cards.len() != before;
        self.retired.extend(questions);
        any
    }

    /// Whether a card has been reviewed and is due at `now`.
    pub fn is_due(&self, card: &str, now: DateTime<Utc>) -> bool {
        self.cards.get(card).is_some_and(|c| c.due <= now)
    }

    /// Whether a card was never reviewed.
    pub fn is_new(&self, card: &str) -> bool {
        !self.cards.contains_key(card)
    }

    /// When a card is next due (none for a new card).
    pub fn due_at(&self, card: &str) -> Option<DateTime<Utc>> {
        self.cards.get(card).map(|c| c.due)
    }

    /// The probability of recalling a card at `now` (0 for a card never reviewed).
    pub fn recall(&self, card: &str, now: DateTime<Utc>) -> f64 {
        match self.cards.get(card) {
            Some(c) if c.state != State::New => {
                let days = (now - c.last_review).num_seconds().max(0) as f64 / 86_400.0;
                Parameters::forgetting_curve(days, c.stability)
            }
            _ => 0.0,
        }
    }

    /// Right and wrong reviews of a card.
    pub fn tally(&self, card: &str) -> Tally {
        let mut t = Tally::default();
        for r in self.log.iter().filter(|r| r.card == card) {
            if r.rating == Rating::Again {
                t.wrong += 1;
            } else {
                t.right += 1;
            }
        }
        t
    }

    /// Merges another deck into this one (moving between machines): for each card the state
    /// with the later review wins, the logs are united without duplicates, and this deck's
    /// retention is kept.
    pub fn merge(&mut self, other: &Deck) {
        for (id, card) in &other.cards {
            match self.cards.get(id) {
                Some(mine) if mine.last_review >= card.last_review => {}
                _ => {
                    self.cards.insert(id.clone(), card.clone());
                }
            }
        }
        for r in &other.log {
            if !self.log.contains(r) {
                self.log.push(r.clone());
            }
        }
        self.log.sort_by_key(|r| r.at);
        for r in &other.retired {
            if !self.retired.contains(r) {
                self.retired.push(r.clone());
            }
        }
    }
}

/// How an exercise attempt ended, for [`exercise_rating`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExerciseAttempt {
    /// Every check passed.
    pub passed: bool,
    /// Hints shown in this attempt.
    pub hints: u32,
    /// Failed checks before this one, in this attempt.
    pub failed_checks: u32,
    /// Seconds from opening the exercise to this check, when known.
    pub seconds: Option<i64>,
    /// The exercise's difficulty, which sets its target time.
    pub difficulty: Difficulty,
}

/// The time an exercise should take someone who knows the topic, in seconds.
pub fn target_seconds(difficulty: Difficulty) -> i64 {
    match difficulty {
        Difficulty::Beginner => 5 * 60,
        Difficulty::Intermediate => 10 * 60,
        Difficulty::Advanced => 15 * 60,
    }
}

/// The FSRS rating of an exercise attempt: failed → Again; passed after hints or failed checks
/// → Hard; passed cleanly → Good; passed cleanly within the target time → Easy.
pub fn exercise_rating(a: &ExerciseAttempt) -> Rating {
    if !a.passed {
        return Rating::Again;
    }
    if a.hints > 0 || a.failed_checks > 0 {
        return Rating::Hard;
    }
    match a.seconds {
        Some(s) if s <= target_seconds(a.difficulty) => Rating::Easy,
        _ => Rating::Good,
    }
}

/// The rating of a drill answer: wrong → Again, right → Good.
pub fn answer_rating(right: bool) -> Rating {
    if right { Rating::Good } else { Rating::Again }
}

/// The name of a rating, for reports.
pub fn rating_name(r: Rating) -> &'static str {
    match r {
        Rating::Again => "Again",
        Rating::Hard => "Hard",
        Rating::Good => "Good",
        Rating::Easy => "Easy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn attempt(
        passed: bool,
        hints: u32,
        failed_checks: u32,
        seconds: Option<i64>,
    ) -> ExerciseAttempt {
        ExerciseAttempt {
            passed,
            hints,
            failed_checks,
            seconds,
            difficulty: Difficulty::Intermediate,
        }
    }

    #[test]
    fn exercise_results_map_to_ratings() {
        assert_eq!(
            exercise_rating(&attempt(false, 0, 0, Some(60))),
            Rating::Again
        );
        assert_eq!(exercise_rating(&attempt(false, 3, 2, None)), Rating::Again);
        assert_eq!(
            exercise_rating(&attempt(true, 1, 0, Some(60))),
            Rating::Hard
        );
        assert_eq!(
            exercise_rating(&attempt(true, 0, 2, Some(60))),
            Rating::Hard
        );
        assert_eq!(
            exercise_rating(&attempt(true, 0, 0, Some(11 * 60))),
            Rating::Good
        );
        assert_eq!(exercise_rating(&attempt(true, 0, 0, None)), Rating::Good);
        assert_eq!(
            exercise_rating(&attempt(true, 0, 0, Some(10 * 60))),
            Rating::Easy
        );
        let beginner = ExerciseAttempt {
            difficulty: Difficulty::Beginner,
            ..attempt(true, 0, 0, Some(6 * 60))
        };
        assert_eq!(
            exercise_rating(&beginner),
            Rating::Good,
            "6 minutes is slow for a beginner exercise"
        );
        assert_eq!(answer_rating(true), Rating::Good);
        assert_eq!(answer_rating(false), Rating::Again);
        assert!(check_retention(0.69).unwrap_err().contains("0.70 to 0.97"));
        assert!(check_retention(0.98).is_err());
        assert_eq!(check_retention(0.85), Ok(0.85));
    }

    /// A month with a fixed clock, checked each morning: three learners' cards reviewed whenever
    /// due, one always right, one that lapses once, one from an exercise passed with hints.
    #[test]
    fn a_simulated_month_schedules_reviews_as_fsrs_says() {
        let mut deck = Deck::default();
        let t0 = start();
        deck.review("q:steady", Rating::Good, t0, "drill");
        deck.review("q:lapse", Rating::Good, t0, "drill");
        deck.review("x:hard", Rating::Hard, t0, "exercise");
        deck.review("x:easy", Rating::Easy, t0, "exercise");
        assert!(
            deck.due_at("x:easy").unwrap() > deck.due_at("q:steady").unwrap(),
            "Easy schedules later than Good"
        );
        assert!(
            deck.due_at("q:steady").unwrap() >= deck.due_at("x:hard").unwrap(),
            "Hard schedules no later than Good"
        );
        assert!(!deck.is_due("q:steady", t0), "just reviewed");
        assert!(deck.is_new("q:never"));
        assert!(
            !deck.is_due("q:never", t0 + Duration::days(30)),
            "new cards are never due"
        );

        let mut reviews: BTreeMap<&str, Vec<DateTime<Utc>>> = BTreeMap::new();
        let mut lapsed = false;
        for day in 1..=30 {
            let now = t0 + Duration::days(day);
            for card in ["q:steady", "q:lapse", "x:hard"] {
                if !deck.is_due(card, now) {
                    continue;
                }
                reviews.entry(card).or_default().push(now);
                let rating = if card == "q:lapse" && !lapsed && day >= 3 {
                    lapsed = true;
                    Rating::Again
                } else {
                    Rating::Good
                };
                let before = deck.recall(card, now);
                assert!((0.0..=1.0).contains(&before));
                deck.review(card, rating, now, "drill");
                if rating == Rating::Again {
                    assert_eq!(
                        deck.due_at(card).unwrap(),
                        now + Duration::days(1),
                        "a lapse comes back the next day"
                    );
                }
            }
        }
        let steady = &reviews["q:steady"];
        assert!(
            steady.len() >= 2 && steady.len() <= 6,
            "a card always right is seen a few times in a month, not daily: {steady:?}"
        );
        let gaps: Vec<i64> = steady
            .windows(2)
            .map(|w| (w[1] - w[0]).num_days())
            .collect();
        assert!(
            gaps.windows(2).all(|g| g[1] >= g[0]),
            "intervals grow: {gaps:?}"
        );
        assert!(lapsed, "the lapsing card came due by day 3");
        assert!(
            reviews["q:lapse"].len() > steady.len(),
            "a lapse brings more reviews"
        );
        assert_eq!(deck.cards["q:lapse"].lapses, 1);
        assert_eq!(deck.tally("q:lapse").wrong, 1);
        assert!(
            deck.tally("q:steady").wrong == 0
                && deck.tally("q:steady").right as usize == steady.len() + 1
        );
        let end = t0 + Duration::days(30);
        assert!(deck.recall("q:steady", end) > 0.5);
        assert_eq!(deck.recall("q:never", end), 0.0);

        // A higher desired retention means more reviews over the same month.
        let count = |retention: f64| {
            let mut d = Deck {
                retention,
                ..Deck::default()
            };
            d.review("c", Rating::Good, t0, "drill");
            let mut n = 0;
            for day in 1..=30 {
                let now = t0 + Duration::days(day);
                if d.is_due("c", now) {
                    d.review("c", Rating::Good, now, "drill");
                    n += 1;
                }
            }
            n
        };
        assert!(
            count(0.97) > count(0.70),
            "0.97: {} reviews, 0.70: {}",
            count(0.97),
            count(0.70)
        );
    }

    #[test]
    fn merging_keeps_the_later_state_and_every_review_once() {
        let t0 = start();
        let mut home = Deck::default();
        home.review("q:a", Rating::Good, t0, "drill");
        let mut work = home.clone();
        work.review("q:a", Rating::Again, t0 + Duration::days(3), "drill");
        work.review("q:b", Rating::Good, t0 + Duration::days(3), "drill");
        home.merge(&work);
        assert_eq!(home.cards["q:a"], work.cards["q:a"]);
        assert!(home.cards.contains_key("q:b"));
        assert_eq!(home.log.len(), 3);
        let again = home.clone();
        home.merge(&again);
        assert_eq!(home, again, "merging twice changes nothing");
    }
}
