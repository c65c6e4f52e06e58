//! Known mistakes for the class table: which checks fail in an exercise's starting state, and
//! which fail after each of its known-wrong variants (`graders/<id>/wrong/<name>`, named after
//! the misconception). A learner whose failing checks are exactly a variant's "matches known
//! mistake `<name>`" (or several names, when the checks cannot tell variants apart); failures that are exactly the starting state's are not a mistake, only
//! work not begun.
//!
//! How the sets are made: the way `keylab verify` runs its stages ([`crate::lab::verify`]): in
//! a fresh folder on the built-in engine, set up, write the variant's files, run its script
//! with every line run whatever happens, run every check. No backend of the learners' is
//! needed, only this keylab. The sets depend on the graders and exercises alone, so they are
//! cached in the instructor's data directory under the pack's grading hash
//! ([`crate::pack::Pack::grading_hash`]) and computed once per pack, and only for the
//! exercises some learner opened. Limits: a check that the engine cannot run (not applicable
//! there) is in no set, and an exercise the engine does not serve has no sets at all (its
//! failures are then all counted, as before).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lab::check::Status;
use crate::lab::grader::run_checks;
use crate::lab::session::{Session, Target, remove_dir};
use crate::lab::verify::{run_script, write_files};
use crate::pack::{Attempt, BackendKind, Pack};

/// The failing checks of one exercise's starting state and of its wrong variants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Checks (places in the grader) that fail right after setup.
    pub starting: BTreeSet<usize>,
    /// Per wrong variant, by name, the checks that fail after it.
    pub variants: BTreeMap<String, BTreeSet<usize>>,
}

impl Signature {
    /// The known mistakes a set of failing checks is: the variants (by name) whose failing set
    /// is exactly `failing`, among variants that change something (their set differs from the
    /// starting state's and is not empty). Several when the checks cannot tell the variants
    /// apart. Checks in `not_run` (not applicable where the learner worked) are left out of
    /// every set first.
    pub fn matches(&self, failing: &BTreeSet<usize>, not_run: &BTreeSet<usize>) -> Vec<&str> {
        if failing.is_empty() || self.is_starting(failing, not_run) {
            return Vec::new();
        }
        let starting: BTreeSet<usize> = self.starting.difference(not_run).copied().collect();
        self.variants
            .iter()
            .filter(|(_, set)| {
                let set: BTreeSet<usize> = set.difference(not_run).copied().collect();
                !set.is_empty() && set != starting && set == *failing
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Whether `failing` is the starting state's failures (work not begun).
    pub fn is_starting(&self, failing: &BTreeSet<usize>, not_run: &BTreeSet<usize>) -> bool {
        let starting: BTreeSet<usize> = self.starting.difference(not_run).copied().collect();
        !starting.is_empty() && *failing == starting
    }
}

/// The cache file: signatures by exercise, for one grading hash.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    grading_hash: String,
    exercises: BTreeMap<String, Signature>,
}

/// Known mistakes of a pack, computed on demand and cached.
#[derive(Debug)]
pub struct Mistakes {
    grading_hash: String,
    cache: Option<PathBuf>,
    known: BTreeMap<String, Option<Signature>>,
}

impl Mistakes {
    /// Signatures of `pack`, cached in `cache_dir` (none: computed and kept in memory only).
    pub fn new(pack: &Pack, cache_dir: Option<&Path>) -> Mistakes {
        let grading_hash = pack.grading_hash();
        let cache = cache_dir.map(|d| d.join(format!("mistakes-{}.json", &grading_hash[..16])));
        let mut known = BTreeMap::new();
        if let Some(file) = cache
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
            .filter(|f| f.grading_hash == grading_hash)
        {
            known.extend(file.exercises.into_iter().map(|(k, v)| (k, Some(v))));
        }
        Mistakes {
            grading_hash,
            cache,
            known,
        }
    }

    /// The signature of an exercise, if it has been [`Mistakes::prepare`]d and the engine
    /// serves it.
    pub fn get(&self, exercise: &str) -> Option<&Signature> {
        self.known.get(exercise).and_then(Option::as_ref)
    }

    /// Computes the signatures of `exercises` not known yet, in folders under `scratch`, and
    /// saves the cache (a cache that cannot be written is only a slower next time).
    pub async fn prepare(&mut self, pack: &Pack, exercises: &BTreeSet<String>, scratch: &Path) {
        let mut added = false;
        for id in exercises {
            if self.known.contains_key(id) {
                continue;
            }
            let signature = signature(pack, id, &scratch.join("mistakes").join(id)).await;
            added |= signature.is_some();
            self.known.insert(id.clone(), signature);
        }
        if let (true, Some(path)) = (added, &self.cache) {
            let file = CacheFile {
                grading_hash: self.grading_hash.clone(),
                exercises: self
                    .known
                    .iter()
                    .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                    .collect(),
            };
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
            let _ = keylab_engine::fsutil::write_atomic(path, &bytes);
        }
    }
}

/// Runs the starting state and every wrong variant of an exercise on the engine; `None` when
/// the engine does not serve it or a stage cannot be set up.
async fn signature(pack: &Pack, id: &str, dir: &Path) -> Option<Signature> {
    let exercise = pack.exercise(id)?;
    if !exercise.spec.backends.contains(&BackendKind::Engine) {
        return None;
    }
    let grader = pack.graders.get(id)?;
    let starting = failing_after(pack, id, &dir.join("start"), None).await?;
    let mut variants = BTreeMap::new();
    for (i, (name, attempt)) in grader.wrong.iter().enumerate() {
        let set = failing_after(pack, id, &dir.join(i.to_string()), Some(attempt)).await?;
        variants.insert(name.clone(), set);
    }
    Some(Signature { starting, variants })
}

/// The checks that fail after setup and `attempt` (as verify runs a wrong variant).
async fn failing_after(
    pack: &Pack,
    id: &str,
    dir: &Path,
    attempt: Option<&Attempt>,
) -> Option<BTreeSet<usize>> {
    let _ = remove_dir(dir);
    let session = Session::open_on(pack, id, dir, 1, &Target::Engine)
        .await
        .ok()?;
    if let Some(attempt) = attempt
        && write_files(&session, attempt).is_ok()
    {
        let _ = run_script(&session, &attempt.script, false).await;
    }
    let results = run_checks(&session).await;
    session.shutdown().await;
    let _ = remove_dir(dir);
    Some(
        results
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.status, Status::Fail | Status::Error))
            .map(|(i, _)| i)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[usize]) -> BTreeSet<usize> {
        v.iter().copied().collect()
    }

    #[test]
    fn a_failing_set_matches_a_variant_only_exactly_and_never_the_starting_state() {
        let s = Signature {
            starting: set(&[0, 1, 2]),
            variants: [
                ("does-nothing".to_string(), set(&[0, 1, 2])),
                ("rotation-left-off".to_string(), set(&[1])),
                ("no-context".to_string(), set(&[2])),
                ("wrong-context".to_string(), set(&[2])),
            ]
            .into(),
        };
        let none = BTreeSet::new();
        assert_eq!(s.matches(&set(&[1]), &none), ["rotation-left-off"]);
        assert_eq!(
            s.matches(&set(&[2]), &none),
            ["no-context", "wrong-context"],
            "checks that cannot tell two variants apart name both"
        );
        assert!(s.matches(&set(&[1, 2]), &none).is_empty());
        assert!(
            s.matches(&set(&[0, 1, 2]), &none).is_empty(),
            "starting state"
        );
        assert!(s.is_starting(&set(&[0, 1, 2]), &none));
        assert!(s.is_starting(&set(&[0, 1]), &set(&[2])), "check 2 not run");
        assert!(s.matches(&BTreeSet::new(), &none).is_empty());
    }
}
