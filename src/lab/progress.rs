//! The learner's progress: a seed (made once, so names and data stay the same for this
//! learner), per exercise the attempts, the hints taken and when it passed, and the spaced
//! repetition deck ([`Deck`]) that drills and exercise results feed. Kept as JSON in the data
//! directory and written atomically; exported and imported whole to move between machines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::lab::check::{CheckResult, Status};
use crate::lab::grader::Evidence;
use crate::pack::model::Difficulty;
use crate::study::readiness::{self, ItemReadiness};
use crate::study::srs::{Deck, ExerciseAttempt, Rating, exercise_card, exercise_rating};
use keylab_engine::fsutil::write_atomic;

/// The progress file's format. Format 2 shows options shuffled: answers given under format 1
/// (options always in file order) are retired from the schedule when a file is read.
pub const FORMAT_VERSION: u32 = 2;

/// What a learner is told once after their format-1 answers were retired.
pub const RETIRED_NOTICE: &str = "Exam questions now show their options in a new order every time, so answers given before (always in the same order) no longer count: readiness and the review schedule count answers from now on.";

/// One exercise's progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExerciseProgress {
    /// Checks run.
    pub attempts: u32,
    /// Hints revealed (the ladder's next rung).
    pub hints_used: u32,
    /// When it first passed.
    pub passed_at: Option<DateTime<Utc>>,
    /// The last explicit check's summary.
    pub last_status: Option<Status>,
    /// When the current attempt began (opening the exercise), for the review rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_started: Option<DateTime<Utc>>,
    /// Failed checks in the current attempt.
    #[serde(default)]
    pub attempt_failures: u32,
    /// Hints shown in the current attempt.
    #[serde(default)]
    pub attempt_hints: u32,
    /// The current attempt began with a reset, so a pass of an exercise passed before is a real
    /// review rather than a check of the old solution.
    #[serde(default)]
    pub attempt_from_reset: bool,
    /// When it was first opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_opened_at: Option<DateTime<Utc>>,
    /// The last check's results, by the check's place in the grader.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<RecordedCheck>,
    /// How many checks failed each check (by its place in the grader), over every attempt.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_checks: BTreeMap<usize, u32>,
    /// What the last check looked at that can be checked again elsewhere.
    #[serde(default, skip_serializing_if = "is_empty_evidence")]
    pub evidence: Evidence,
    /// When the last check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<DateTime<Utc>>,
    /// How many checks ended with exactly this set of checks failing, keyed by the failing
    /// places joined with commas ([`failing_key`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failing_sets: BTreeMap<String, u32>,
}

/// The key of a set of failing checks in [`ExerciseProgress::failing_sets`]: their places in
/// the grader, ascending, joined with commas (`"1,3"`; empty when every check passed).
pub fn failing_key(indices: impl IntoIterator<Item = usize>) -> String {
    let mut v: Vec<usize> = indices.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

/// The places a [`failing_key`] names; places that do not parse are left out.
pub fn parse_failing_key(key: &str) -> std::collections::BTreeSet<usize> {
    key.split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

fn is_empty_evidence(e: &Evidence) -> bool {
    e.files.is_empty() && e.vars.is_empty()
}

/// One check's last result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordedCheck {
    /// Its place in the grader (0 first).
    pub index: usize,
    /// Its status.
    pub status: Status,
    /// The message shown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Everything kept about a learner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// The file's format.
    #[serde(default = "format_version")]
    pub format_version: u32,
    /// The seed names and data are derived from.
    pub seed: u64,
    /// The learner's name, as `keylab submit --name` last gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learner: Option<String>,
    /// Per exercise.
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseProgress>,
    /// Spaced repetition: questions and exercises.
    #[serde(default)]
    pub deck: Deck,
    /// A message to show the learner once (then cleared and saved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// Where the lab keeps its data: progress and exercise folders.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// `KEYLAB_DATA_DIR`, else the user's data directory (`~/.local/share/keylab` on Linux).
    pub fn default_location() -> Result<DataDir, String> {
        if let Some(d) = std::env::var_os("KEYLAB_DATA_DIR") {
            return Ok(DataDir(PathBuf::from(d)));
        }
        directories::ProjectDirs::from("dev", "keylab", "keylab")
            .map(|p| DataDir(p.data_dir().to_path_buf()))
            .ok_or_else(|| "no home directory: set KEYLAB_DATA_DIR or pass --data-dir".into())
    }

    /// The progress file.
    pub fn progress_file(&self) -> PathBuf {
        self.0.join("progress.json")
    }

    /// An exercise's folder.
    pub fn lab(&self, exercise: &str) -> PathBuf {
        self.0.join("labs").join(exercise)
    }

    /// An exercise's folder on a backend (the engine's is [`DataDir::lab`]).
    pub fn lab_on(&self, exercise: &str, backend: &str) -> PathBuf {
        match backend {
            "engine" => self.lab(exercise),
            other => self.0.join(format!("labs-{other}")).join(exercise),
        }
    }
}

impl Progress {
    /// Loads the progress file, or starts one with the seed of the learner key kept beside it
    /// ([`super::learner::seed_in`]).
    pub fn load(path: &Path) -> Result<Progress, String> {
        match std::fs::read(path) {
            Ok(bytes) => Progress::from_json(&bytes)
                .map_err(|e| format!("{}: {e}; move it away to start afresh", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = path.parent().unwrap_or(Path::new("."));
                Ok(Progress::new(super::learner::seed_in(dir)))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Fresh progress with this seed.
    pub fn new(seed: u64) -> Progress {
        Progress {
            format_version: FORMAT_VERSION,
            seed,
            learner: None,
            exercises: BTreeMap::new(),
            deck: Deck::default(),
            notice: None,
        }
    }

    /// Parses a progress file, refusing a newer format with a message that says so.
    pub fn from_json(bytes: &[u8]) -> Result<Progress, String> {
        let progress: Progress = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a keylab progress file ({e})"))?;
        if progress.format_version > FORMAT_VERSION {
            return Err(format!(
                "progress format_version {} is newer than this keylab reads ({FORMAT_VERSION}): update keylab",
                progress.format_version
            ));
        }
        crate::study::srs::check_retention(progress.deck.retention)
            .map_err(|e| format!("deck.retention: {e}"))?;
        let mut progress = progress;
        if progress.format_version < 2 && progress.deck.retire_questions() {
            progress.notice = Some(RETIRED_NOTICE.into());
        }
        progress.format_version = FORMAT_VERSION;
        Ok(progress)
    }

    /// Whether nothing has been done yet.
    pub fn is_empty(&self) -> bool {
        self.exercises.is_empty() && self.deck.log.is_empty()
    }

    /// Merges progress from another machine: if this one is empty, everything (the seed too)
    /// is taken; otherwise this seed stays, per exercise the larger counts and the earlier pass
    /// are kept, and the decks are merged ([`Deck::merge`]).
    pub fn merge(&mut self, other: &Progress) {
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        for (id, theirs) in &other.exercises {
            let mine = self.entry(id);
            mine.attempts = mine.attempts.max(theirs.attempts);
            mine.hints_used = mine.hints_used.max(theirs.hints_used);
            mine.passed_at = match (mine.passed_at.take(), theirs.passed_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if mine.last_status.is_none() {
                mine.last_status = theirs.last_status;
            }
            mine.first_opened_at = match (mine.first_opened_at, theirs.first_opened_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            for (&index, &n) in &theirs.failed_checks {
                let count = mine.failed_checks.entry(index).or_default();
                *count = (*count).max(n);
            }
            for (set, &n) in &theirs.failing_sets {
                let count = mine.failing_sets.entry(set.clone()).or_default();
                *count = (*count).max(n);
            }
            mine.last_checked_at = mine.last_checked_at.max(theirs.last_checked_at);
            if mine.checks.is_empty() {
                mine.checks = theirs.checks.clone();
                mine.evidence = theirs.evidence.clone();
            }
        }
        if self.learner.is_none() {
            self.learner = other.learner.clone();
        }
        self.deck.merge(&other.deck);
    }

    /// Starts an attempt at an exercise when none is open (opening it in the TUI, or the first
    /// command of `keylab check`, `run` or `hint`).
    pub fn record_open(&mut self, exercise: &str, now: DateTime<Utc>) {
        let entry = self.entry(exercise);
        entry.first_opened_at.get_or_insert(now);
        if entry.attempt_started.is_none() {
            entry.attempt_started = Some(now);
            entry.attempt_failures = 0;
            entry.attempt_hints = 0;
        }
    }

    /// Keeps a check's results and evidence for `keylab submit`: the last results, and a count
    /// per failed check over every attempt.
    pub fn record_results(&mut self, exercise: &str, results: &[CheckResult], evidence: Evidence) {
        let entry = self.entry(exercise);
        entry.checks = results
            .iter()
            .enumerate()
            .map(|(index, r)| RecordedCheck {
                index,
                status: r.status,
                message: r.message.clone(),
            })
            .collect();
        let mut failing = Vec::new();
        for (index, r) in results.iter().enumerate() {
            if matches!(r.status, Status::Fail | Status::Error) {
                *entry.failed_checks.entry(index).or_default() += 1;
                failing.push(index);
            }
        }
        if !failing.is_empty() {
            *entry.failing_sets.entry(failing_key(failing)).or_default() += 1;
        }
        entry.evidence = evidence;
    }

    /// Starts a fresh attempt after a reset of the exercise's workspace and backend.
    pub fn record_reset(&mut self, exercise: &str, now: DateTime<Utc>) {
        let entry = self.entry(exercise);
        entry.attempt_started = Some(now);
        entry.attempt_failures = 0;
        entry.attempt_hints = 0;
        entry.attempt_from_reset = true;
    }

    /// Counts a hint shown; returns how many of `total` are shown now.
    pub fn record_hint(&mut self, exercise: &str, total: usize, now: DateTime<Utc>) -> u32 {
        self.record_open(exercise, now);
        let entry = self.entry(exercise);
        if (entry.hints_used as usize) < total {
            entry.hints_used += 1;
            entry.attempt_hints += 1;
        }
        entry.hints_used
    }

    /// Records a check and reviews the exercise's card: the first failure of an attempt rates
    /// Again (later failures of the same attempt are not new reviews); a pass rates Hard, Good or
    /// Easy ([`exercise_rating`]) and ends the attempt. An exercise passed before is reviewed
    /// only in an attempt that began with a reset (otherwise the check sees the old solution).
    /// Returns the rating given, if any.
    pub fn record_check(
        &mut self,
        exercise: &str,
        difficulty: Difficulty,
        status: Status,
        now: DateTime<Utc>,
    ) -> Option<Rating> {
        self.record_open(exercise, now);
        let entry = self.entry(exercise);
        let counts = entry.passed_at.is_none() || entry.attempt_from_reset;
        let passed = status == Status::Pass;
        entry.attempts += 1;
        entry.last_status = Some(status);
        entry.last_checked_at = Some(now.trunc_subsecs(0));
        if passed && entry.passed_at.is_none() {
            entry.passed_at = Some(now.trunc_subsecs(0));
        }
        let attempt = ExerciseAttempt {
            passed,
            hints: entry.attempt_hints,
            failed_checks: entry.attempt_failures,
            seconds: entry.attempt_started.map(|t| (now - t).num_seconds()),
            difficulty,
        };
        let first_failure = !passed && entry.attempt_failures == 0;
        if passed {
            entry.attempt_started = None;
            entry.attempt_failures = 0;
            entry.attempt_hints = 0;
            entry.attempt_from_reset = false;
        } else {
            entry.attempt_failures += 1;
        }
        if !counts || (!passed && !first_failure) {
            return None;
        }
        let rating = match (self.deck.pass_fail, passed) {
            (true, true) => Rating::Good,
            (true, false) => Rating::Again,
            (false, _) => exercise_rating(&attempt),
        };
        self.deck
            .review(&exercise_card(exercise), rating, now, "exercise");
        Some(rating)
    }

    /// The seed of the next drill round's or exam's shuffle: the learner's seed moved on by
    /// every review, so rounds differ but a test can know the next one.
    pub fn round_seed(&self) -> u64 {
        self.seed ^ self.deck.log.len() as u64
    }

    /// Readiness by DEA-C01 item now (see [`crate::study::readiness`]).
    pub fn readiness(&self, pack: &crate::pack::Pack, now: DateTime<Utc>) -> Vec<ItemReadiness> {
        readiness::by_item(
            pack,
            &self.deck,
            |id| {
                self.exercises
                    .get(id)
                    .is_some_and(|p| p.passed_at.is_some())
            },
            now,
        )
    }

    /// Runs `f` (a drill round or an exam) with the deck taken out, passing it a saver that
    /// writes the whole progress, with the deck as it is then, to `path`; the deck is put back
    /// afterwards whatever `f` returns.
    pub fn with_deck<T>(
        &mut self,
        path: &Path,
        f: impl FnOnce(&mut Deck, &mut dyn FnMut(&Deck) -> Result<(), String>) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut deck = std::mem::take(&mut self.deck);
        let snapshot = self.clone();
        let mut saver = |d: &Deck| {
            let mut p = snapshot.clone();
            p.deck = d.clone();
            p.save(path)
        };
        let result = f(&mut deck, &mut saver);
        self.deck = deck;
        result
    }

    /// Saves it atomically.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(self).expect("progress serializes");
        write_atomic(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// An exercise's entry.
    pub fn entry(&mut self, exercise: &str) -> &mut ExerciseProgress {
        self.exercises.entry(exercise.to_string()).or_default()
    }
}
