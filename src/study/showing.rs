//! How a question is shown: its options in an order of their own for every showing, so the
//! place of an option tells nothing. The order comes from the learner's seed, the question and
//! how many times it has been answered before ([`attempt`]), so it is the same when a showing
//! is reviewed and differs the next time. Answers are kept by option id (an option's place in
//! the question file), never by the letter it was shown with.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::srs::{Deck, question_card};
use crate::pack::model::Question;

/// The order options are shown in: `order[k]` is the id of the option shown k-th.
pub fn order(seed: u64, question_id: &str, attempt: usize, options: usize) -> Vec<usize> {
    let mut hash = Sha256::new();
    hash.update(seed.to_le_bytes());
    hash.update(question_id.as_bytes());
    hash.update((attempt as u64).to_le_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    let mut order: Vec<usize> = (0..options).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(u64::from_le_bytes(bytes)));
    order
}

/// How many times a question has been answered (its reviews in the log): the showing number.
pub fn attempt(deck: &Deck, question_id: &str) -> usize {
    let card = question_card(question_id);
    deck.log.iter().filter(|r| r.card == card).count()
}

/// The order of `q`'s options for the learner's next showing of it.
pub fn next_order(deck: &Deck, seed: u64, q: &Question) -> Vec<usize> {
    order(seed, &q.id, attempt(deck, &q.id), q.options.len())
}

/// The letter an option is shown with at place `k`.
pub fn letter(k: usize) -> char {
    char::from(b'a' + k as u8)
}

/// The letters option ids were shown with, in shown order (`a, c`).
pub fn letters_of(order: &[usize], ids: &[usize]) -> String {
    let mut places: Vec<usize> = ids
        .iter()
        .filter_map(|id| order.iter().position(|o| o == id))
        .collect();
    places.sort_unstable();
    places
        .into_iter()
        .map(|k| letter(k).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Option ids from places as shown.
pub fn ids_of(order: &[usize], places: &[usize]) -> Vec<usize> {
    let mut ids: Vec<usize> = places
        .iter()
        .filter_map(|&k| order.get(k).copied())
        .collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_reproducible_per_showing_and_differ_between_showings() {
        let a = order(7, "q1", 0, 4);
        assert_eq!(a, order(7, "q1", 0, 4));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        let differ = (1..20).filter(|&n| order(7, "q1", n, 4) != a).count();
        assert!(differ >= 15, "later showings reorder: {differ} of 19");
        let firsts: std::collections::BTreeSet<usize> =
            (0..40).map(|n| order(n, "q1", 0, 4)[0]).collect();
        assert_eq!(firsts.len(), 4, "every option comes first for some learner");
        assert_eq!(ids_of(&[2, 0, 3, 1], &[0, 2]), vec![2, 3]);
        assert_eq!(letters_of(&[2, 0, 3, 1], &[3, 2]), "a, c");
    }
}
