//! Choosing a drill round's questions: those due for review, a module's (lesson's), one of the
//! pack's objectives' (a DEA-C01 item in the built-in pack), or a mixed round. Due cards come first (oldest due first), then new ones in a seeded
//! shuffle, then the rest by lowest recall, so a round always works on what is weakest.

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::srs::{Deck, question_card};
use crate::pack::Pack;
use crate::pack::model::Question;

/// Questions in a drill round unless the learner chooses.
pub const ROUND_SIZE: usize = 10;

/// Which questions a round draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Only those due for review.
    Due,
    /// All questions.
    Mixed,
    /// One lesson's (module's), by id.
    Lesson(String),
    /// One of the pack's objectives' (`4.3.K1`, or `K1` for DEA-C01 items).
    Item(String),
}

impl Pick {
    /// A short description, for titles.
    pub fn describe(&self, pack: &Pack) -> String {
        match self {
            Pick::Due => "due for review".into(),
            Pick::Mixed => "mixed".into(),
            Pick::Lesson(id) => pack
                .lessons
                .iter()
                .find(|l| &l.id == id)
                .map_or(id.clone(), |l| l.title.clone()),
            Pick::Item(item) => {
                let id = pack.find_objective(item).unwrap_or_else(|| item.clone());
                format!("{id} {}", pack.objective_title(&id))
            }
        }
    }

    /// Whether question `q` belongs to the round.
    pub fn matches(&self, q: &Question, deck: &Deck, now: DateTime<Utc>) -> bool {
        match self {
            Pick::Due => deck.is_due(&question_card(&q.id), now),
            Pick::Mixed => true,
            Pick::Lesson(id) => &q.lesson == id,
            Pick::Item(item) => q.item == *item || q.item == full_item(item),
        }
    }

    /// Checks the lesson or item exists, naming the choices when it does not.
    pub fn validate(&self, pack: &Pack) -> Result<(), String> {
        match self {
            Pick::Lesson(id) if !pack.lessons.iter().any(|l| &l.id == id) => Err(format!(
                "no lesson {id:?}: choose one of {}",
                pack.lessons
                    .iter()
                    .map(|l| l.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Pick::Item(item) if pack.find_objective(item).is_none() => Err(format!(
                "no objective {item:?} in this pack: choose one of {}",
                pack.objectives()
                    .iter()
                    .map(|o| o.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Ok(()),
        }
    }
}

/// `K1` → `4.3.K1`; a full id stays as it is.
pub fn full_item(item: &str) -> String {
    if item.starts_with("4.3.") {
        item.to_string()
    } else {
        format!("4.3.{}", item.to_ascii_uppercase())
    }
}

/// Question indexes for a round of up to `count`.
pub fn questions(
    pack: &Pack,
    deck: &Deck,
    pick: &Pick,
    now: DateTime<Utc>,
    count: usize,
    seed: u64,
) -> Vec<usize> {
    let pool: Vec<usize> = (0..pack.questions.len())
        .filter(|&i| pick.matches(&pack.questions[i], deck, now))
        .collect();
    let card = |i: usize| question_card(&pack.questions[i].id);
    let mut due: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| deck.is_due(&card(i), now))
        .collect();
    due.sort_by_key(|&i| deck.due_at(&card(i)));
    let mut new: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| deck.is_new(&card(i)))
        .collect();
    new.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut rest: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| !deck.is_new(&card(i)) && !deck.is_due(&card(i), now))
        .collect();
    rest.sort_by(|&a, &b| {
        deck.recall(&card(a), now)
            .total_cmp(&deck.recall(&card(b), now))
    });
    due.into_iter().chain(new).chain(rest).take(count).collect()
}

/// Parses an answer: letters (`a`, `ac`, `a,c`, `A C`) or numbers from 1 (`1 3`). Checks each
/// option exists and that as many are picked as the question asks for.
pub fn parse_answer(text: &str, options: usize, choose: usize) -> Result<Vec<usize>, String> {
    let mut picked = Vec::new();
    let letters = (b'a'..b'a' + options as u8)
        .map(char::from)
        .collect::<String>();
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != ',') {
        let index = match c.to_ascii_lowercase() {
            l @ 'a'..='z' => (l as u8 - b'a') as usize,
            d @ '1'..='9' => (d as u8 - b'1') as usize,
            _ => {
                return Err(format!(
                    "{c:?} is not an option: answer with letters {letters}"
                ));
            }
        };
        if index >= options {
            return Err(format!(
                "there is no option {c}: answer with letters {letters}"
            ));
        }
        if !picked.contains(&index) {
            picked.push(index);
        }
    }
    if picked.len() != choose {
        let words = ["none", "one", "two", "three", "four", "five", "six"];
        return Err(format!(
            "choose {} (you picked {})",
            words.get(choose).unwrap_or(&"several"),
            words.get(picked.len()).copied().unwrap_or("several")
        ));
    }
    picked.sort_unstable();
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_as_letters_or_numbers() {
        assert_eq!(parse_answer("b", 4, 1), Ok(vec![1]));
        assert_eq!(parse_answer("C, a", 5, 2), Ok(vec![0, 2]));
        assert_eq!(parse_answer("1 3", 5, 2), Ok(vec![0, 2]));
        assert_eq!(parse_answer("ca", 5, 2), Ok(vec![0, 2]));
        assert!(parse_answer("e", 4, 1).unwrap_err().contains("no option e"));
        assert!(
            parse_answer("a", 5, 2)
                .unwrap_err()
                .contains("choose two (you picked one)")
        );
        assert!(
            parse_answer("?", 4, 1)
                .unwrap_err()
                .contains("letters abcd")
        );
        assert_eq!(full_item("k1"), "4.3.K1");
        assert_eq!(full_item("4.3.S2"), "4.3.S2");
    }
}
