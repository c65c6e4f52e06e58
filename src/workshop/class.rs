//! `keylab class collect DIR`: the instructor's view of a workshop. Every results file in the
//! folder is verified and its re-runnable checks are run again from the evidence it carries,
//! with the names its seed gives; a file that fails any of this is listed as rejected with the
//! reason; an earlier file of a learner who handed in again is listed as superseded. The
//! accepted ones make the class table ([`super::table`]): who finished what, what each learner
//! is working on now and whether their failing checks match a known mistake
//! ([`super::mistakes`]), the checks (and the misconceptions their failure messages name) most
//! learners failed, and the hints that were needed. Rendered as text, CSV (long and wide) or
//! JSON ([`super::render`]); every text from a results file is sanitised.
//!
//! What an accepted file proves: it was signed by the key it carries and not edited since; it
//! was made with this pack's exercises and graders for this workshop (prose may differ); its
//! seed is that key's (so it is not a classmate's progress signed with another key); it is the
//! latest file of its key and the only one of its seed (and, with `--roster`, its key is one
//! the instructor noted); and every exercise it
//! claims as passed whose grader has re-runnable checks (workspace files, configuration
//! documents) carries the files those checks read, and they pass when run again here.
//! What it does not prove: who sat at the keyboard (the key proves only continuity: note each
//! learner's fingerprint, or use `--roster`); that the learner wrote the files themselves
//! (identical evidence across learners is flagged, not rejected); or passes of checks that
//! need the learner's own backend (key states, bucket settings, the audit log), which cannot
//! be re-run from a file: those are counted as passed on trust and shown as such.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::mistakes::Mistakes;
use super::results::{ResultsFile, fingerprint, read_verified};
use crate::lab::check::Status;
use crate::lab::grader::{is_rerunnable, run_checks_where};
use crate::lab::session::{Session, Target};
use crate::pack::Pack;

/// A results file that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The file name.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// A results file replaced by a later one of the same learner (same key): not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Superseded {
    /// The file name.
    pub file: String,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The later file that replaces it.
    pub by: String,
}

/// A check of a learner's exercise that fails now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingCheck {
    /// Its place in the grader.
    pub index: usize,
    /// Its title, as the pack writes it.
    pub title: String,
}

/// One learner's state on one exercise they opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerExercise {
    /// The exercise id.
    pub id: String,
    /// Whether it counts as passed (a pass its evidence still shows).
    pub passed: bool,
    /// How the pass was shown: `checks re-run from evidence`, or `on trust` (its checks need
    /// the learner's backend); empty when not passed.
    pub pass_shown_by: String,
    /// Checks run.
    pub attempts: u32,
    /// Hints shown.
    pub hints: u32,
    /// Minutes from opening it to passing it, or (not passed) to handing the results in.
    pub minutes: Option<f64>,
    /// When it was first opened.
    pub first_opened_at: Option<DateTime<Utc>>,
    /// When it first passed.
    pub passed_at: Option<String>,
    /// Checks failing at the last check.
    pub failing: Vec<FailingCheck>,
    /// The failing checks are the exercise's starting state's: work not begun.
    pub starting_state: bool,
    /// The known-wrong variants whose failing checks are exactly these (several when the
    /// checks cannot tell them apart).
    pub known_mistakes: Vec<String>,
    /// When the last check ran (or, without one, when it was opened): what "working on" picks.
    #[serde(skip)]
    pub last_active: Option<DateTime<Utc>>,
}

impl LearnerExercise {
    /// A short account, the known mistake first after the failing checks: `1 failing check ·
    /// matches known mistake `x` · 2 attempts · 1 hint · 12 min`.
    pub fn summary(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![match (self.passed, self.failing.len()) {
            (true, _) => "passed".to_string(),
            (false, 0) => "not checked yet".to_string(),
            (false, n) => plural(n, "failing check", "failing checks"),
        }];
        if self.starting_state {
            parts[0].push_str(" (starting state)");
        }
        if !self.known_mistakes.is_empty() {
            let names: Vec<String> = self
                .known_mistakes
                .iter()
                .map(|v| format!("`{v}`"))
                .collect();
            parts.push(format!("matches known mistake {}", names.join(" or ")));
        }
        parts.push(plural(self.attempts as usize, "attempt", "attempts"));
        parts.push(plural(self.hints as usize, "hint", "hints"));
        if let Some(m) = self.minutes {
            parts.push(format!("{m:.0} min"));
        }
        parts.join(" · ")
    }
}

/// One learner's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerRow {
    /// The file name.
    pub file: String,
    /// The learner's name.
    pub learner: String,
    /// The key's fingerprint.
    pub key: String,
    /// When the results were handed in.
    pub submitted_at: DateTime<Utc>,
    /// Exercises passed, in course order.
    pub passed: Vec<String>,
    /// Exercises opened but not passed, in course order.
    pub in_progress: Vec<String>,
    /// Hints shown, over every exercise.
    pub hints: u32,
    /// Checks run again here from the evidence, all agreeing with the record.
    pub checks_rerun: usize,
    /// Of the passed exercises, those with no re-runnable check: passed on trust.
    #[serde(default)]
    pub unverified: Vec<String>,
    /// What the instructor should look at (shared evidence, a name the roster spells
    /// otherwise, a pass the evidence no longer shows).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Every exercise opened, in course order.
    pub exercises: Vec<LearnerExercise>,
    /// The exercise not passed that the learner touched last, if any.
    pub working_on: Option<LearnerExercise>,
}

/// The learners table's columns.
pub const LEARNER_COLUMNS: [&str; 6] = [
    "learner",
    "passed",
    "in progress",
    "hints",
    "working on",
    "now",
];

impl LearnerRow {
    /// The row under [`LEARNER_COLUMNS`].
    pub fn cells(&self) -> [String; 6] {
        let passed = match self.unverified.len() {
            0 => self.passed.len().to_string(),
            n => format!("{} ({n} on trust)", self.passed.len()),
        };
        let (on, now) = match &self.working_on {
            Some(w) => (w.id.clone(), w.summary()),
            None if self.exercises.is_empty() => ("-".into(), "nothing opened".into()),
            None => ("-".into(), "every exercise opened is passed".into()),
        };
        [
            self.learner.clone(),
            passed,
            self.in_progress.len().to_string(),
            self.hints.to_string(),
            on,
            now,
        ]
    }
}

/// The exercises table's columns.
pub const EXERCISE_COLUMNS: [&str; 8] = [
    "exercise",
    "passed",
    "opened",
    "hinted",
    "hints",
    "attempts",
    "minutes",
    "on it now",
];

/// One exercise's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExerciseRow {
    /// The exercise id.
    pub id: String,
    /// Learners who passed it.
    pub passed: usize,
    /// Learners who opened it.
    pub opened: usize,
    /// Learners who needed hints.
    pub hinted: usize,
    /// Hints per learner who opened it.
    pub mean_hints: f64,
    /// Checks run per learner who opened it.
    pub mean_attempts: f64,
    /// Median minutes from opening to passing, among those who passed.
    pub median_minutes: Option<f64>,
    /// Learners working on it now (it is their "working on").
    pub working: Vec<String>,
}

impl ExerciseRow {
    /// The row under [`EXERCISE_COLUMNS`].
    pub fn cells(&self) -> [String; 8] {
        [
            self.id.clone(),
            self.passed.to_string(),
            self.opened.to_string(),
            self.hinted.to_string(),
            format!("{:.1}", self.mean_hints),
            format!("{:.1}", self.mean_attempts),
            self.median_minutes
                .map_or("-".into(), |m| format!("{m:.0}")),
            self.working.join(", "),
        ]
    }
}

/// A check learners failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    /// The exercise.
    pub exercise: String,
    /// Its place in the grader.
    pub index: usize,
    /// The check's title, as the pack writes it.
    pub title: String,
    /// The misconception its failure message names.
    pub misconception: String,
    /// Learners who failed it at least once other than in the starting state.
    pub learners: usize,
}

/// A known mistake (a wrong variant of the pack) learners made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MistakeRow {
    /// The exercise.
    pub exercise: String,
    /// The wrong variant's name.
    pub variant: String,
    /// The checks it trips.
    pub checks: Vec<FailingCheck>,
    /// Learners whose last check matches it now.
    pub now: Vec<String>,
    /// Learners whose checks matched it at some attempt.
    pub ever: usize,
}

/// The class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Class {
    /// The workshop id.
    pub workshop: Option<String>,
    /// The pack name.
    pub pack: String,
    /// The pack's SHA-256.
    pub pack_hash: String,
    /// Every exercise of the pack, in course order (the wide CSV's columns).
    pub course: Vec<String>,
    /// Accepted learners, by name.
    pub learners: Vec<LearnerRow>,
    /// Per exercise, in course order (those someone opened).
    pub exercises: Vec<ExerciseRow>,
    /// Checks failed by at least one learner, most learners first.
    pub checks: Vec<CheckRow>,
    /// Known mistakes learners made, most learners first.
    pub mistakes: Vec<MistakeRow>,
    /// Files replaced by a later file of the same learner.
    pub superseded: Vec<Superseded>,
    /// Files not accepted.
    pub rejected: Vec<Rejected>,
}

/// The instructor's list of learners: key fingerprints (as `keylab submit` prints them) and
/// names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Name by fingerprint.
    pub names: BTreeMap<String, String>,
}

impl Roster {
    /// Parses a roster: one learner per line, a 16-hex-digit fingerprint and a name in either
    /// order, separated by spaces, tabs or a comma; `#` starts a comment.
    pub fn parse(text: &str) -> Result<Roster, String> {
        let mut names = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            let is_key = |w: &str| w.len() == 16 && w.chars().all(|c| c.is_ascii_hexdigit());
            let Some(key) = words.iter().find(|w| is_key(w)) else {
                return Err(format!(
                    "line {}: no key fingerprint (16 hex digits, as keylab submit prints it)",
                    i + 1
                ));
            };
            let name: Vec<&str> = words.iter().filter(|w| !is_key(w)).copied().collect();
            names.insert(key.to_ascii_lowercase(), name.join(" "));
        }
        Ok(Roster { names })
    }
}

/// Reads, verifies and re-runs every `*.json` in `dir`; `scratch` is an empty folder for the
/// re-runs. With a roster, keys not on it are rejected. See [`Collector`] for the choices.
pub async fn collect(
    pack: &Pack,
    dir: &Path,
    workshop: Option<&str>,
    roster: Option<&Roster>,
    scratch: &Path,
) -> Result<Class, String> {
    Collector::new(pack, workshop, roster.cloned(), scratch, None)
        .collect(dir)
        .await
}

/// Collects a folder of results, as often as asked (`keylab class watch` collects again as
/// files arrive): a file's re-run is kept by its content's hash, and the known mistakes
/// ([`Mistakes`]) are computed once per exercise.
///
/// Which files make the class: files whose signature verifies and whose pack is this one (the
/// same SHA-256, or the same grading hash: only prose differs, noted); of the workshop given,
/// or, without one, of the one workshop they all name (files naming several workshops are an
/// error that lists them, as one stray file must not decide for the class); and per learner
/// key the latest `submitted_at` (earlier files are listed as superseded, which is no error).
#[derive(Debug)]
pub struct Collector<'a> {
    pack: &'a Pack,
    workshop: Option<String>,
    roster: Option<Roster>,
    scratch: PathBuf,
    reruns: HashMap<String, Result<Rerun, String>>,
    mistakes: Mistakes,
}

/// A results file read and verified.
struct Candidate {
    file: String,
    bytes_hash: String,
    results: ResultsFile,
    prose_differs: bool,
}

impl<'a> Collector<'a> {
    /// A collector for `pack`; `scratch` is a folder for re-runs, `cache_dir` keeps the known
    /// mistakes between runs.
    pub fn new(
        pack: &'a Pack,
        workshop: Option<&str>,
        roster: Option<Roster>,
        scratch: &Path,
        cache_dir: Option<&Path>,
    ) -> Collector<'a> {
        Collector {
            pack,
            workshop: workshop.map(str::to_string),
            roster,
            scratch: scratch.to_path_buf(),
            reruns: HashMap::new(),
            mistakes: Mistakes::new(pack, cache_dir),
        }
    }

    /// Collects `dir` now.
    pub async fn collect(&mut self, dir: &Path) -> Result<Class, String> {
        let pack = self.pack;
        let (candidates, mut rejected) = read_all(pack, dir)?;
        let (workshop, candidates) =
            choose_workshop(self.workshop.as_deref(), candidates, &mut rejected)?;
        let (candidates, superseded) = latest_per_key(candidates);
        let roster = self.roster.as_ref();
        let mut accepted: Vec<(String, ResultsFile, Rerun)> = Vec::new();
        let mut seeds: BTreeMap<u64, String> = BTreeMap::new();
        for (n, c) in candidates.into_iter().enumerate() {
            let p = &c.results.payload;
            if let Err(why) = check_identity(&c.results, roster, &seeds) {
                rejected.push(Rejected {
                    file: c.file,
                    reason: why,
                });
                continue;
            }
            let outcome = match self.reruns.get(&c.bytes_hash) {
                Some(known) => known.clone(),
                None => {
                    let root = self.scratch.join(format!("rerun-{n}"));
                    let outcome = rerun(pack, &c.results, &root).await;
                    let _ = std::fs::remove_dir_all(&root);
                    self.reruns.insert(c.bytes_hash.clone(), outcome.clone());
                    outcome
                }
            };
            let mut outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    rejected.push(Rejected {
                        file: c.file,
                        reason: e,
                    });
                    continue;
                }
            };
            seeds.insert(p.seed, c.file.clone());
            if let Some(listed) =
                roster.and_then(|r| r.names.get(&fingerprint(&c.results.public_key)))
                && !listed.is_empty()
                && *listed != p.learner
            {
                outcome.notes.push(format!(
                    "names itself {:?}; the roster says {listed:?}",
                    p.learner
                ));
            }
            if c.prose_differs {
                outcome.notes.push(
                    "made with another wording of the pack (lessons, READMEs or questions differ; exercises and graders are the same)".into(),
                );
            }
            accepted.push((c.file, c.results, outcome));
        }
        flag_shared_evidence(&mut accepted);
        let opened = accepted
            .iter()
            .flat_map(|(_, r, _)| r.payload.exercises.iter().map(|x| x.id.clone()))
            .filter(|id| pack.exercise(id).is_some())
            .collect();
        self.mistakes.prepare(pack, &opened, &self.scratch).await;
        rejected.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(super::table::table(
            pack,
            &self.mistakes,
            workshop,
            accepted,
            superseded,
            rejected,
        ))
    }
}

/// Reads and verifies every `*.json` of `dir` (dotfiles left out: `._x.json` is macOS's, not
/// a learner's), rejecting those that do not verify or were made with another pack.
fn read_all(pack: &Pack, dir: &Path) -> Result<(Vec<Candidate>, Vec<Rejected>), String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with('.'))
        })
        .collect();
    names.sort();
    let hash = pack.hash();
    let grading = pack.grading_hash();
    let mut candidates = Vec::new();
    let mut rejected = Vec::new();
    for path in names {
        let file = path
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned());
        let verified = std::fs::read(&path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|bytes| Ok((read_verified(&bytes)?, bytes)));
        let (results, bytes) = match verified {
            Ok(v) => v,
            Err(reason) => {
                rejected.push(Rejected { file, reason });
                continue;
            }
        };
        let p = &results.payload;
        let same_grading = p.pack.grading.as_deref() == Some(grading.as_str());
        if p.pack.hash != hash && !same_grading {
            rejected.push(Rejected {
                file,
                reason: format!(
                    "made with another pack: {} {}…, this pack is {} {}… (its exercises or graders differ: give the learners the same pack, or collect with its --pack)",
                    p.pack.name,
                    &p.pack.hash[..p.pack.hash.len().min(12)],
                    pack.manifest.name,
                    &hash[..12]
                ),
            });
            continue;
        }
        candidates.push(Candidate {
            file,
            bytes_hash: {
                use sha2::{Digest, Sha256};
                hex::encode(Sha256::digest(&bytes))
            },
            prose_differs: p.pack.hash != hash,
            results,
        });
    }
    Ok((candidates, rejected))
}

/// The workshop of the class: the one given (files of others are rejected), or the one every
/// file names; files naming several is an error that lists them with their counts.
fn choose_workshop(
    given: Option<&str>,
    candidates: Vec<Candidate>,
    rejected: &mut Vec<Rejected>,
) -> Result<(Option<String>, Vec<Candidate>), String> {
    let workshop = match given {
        Some(w) => Some(w.to_string()),
        None => {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for c in &candidates {
                *counts
                    .entry(c.results.payload.workshop.as_str())
                    .or_default() += 1;
            }
            if counts.len() > 1 {
                let mut listed: Vec<(&str, usize)> = counts.into_iter().collect();
                listed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let names: Vec<String> = listed
                    .iter()
                    .map(|(w, n)| format!("{w} ({n} file{})", if *n == 1 { "" } else { "s" }))
                    .collect();
                return Err(format!(
                    "the results files are from {} workshops: {}; say which one to collect with --workshop ID (files of the others are then listed as rejected)",
                    listed.len(),
                    names.join(", ")
                ));
            }
            counts.keys().next().map(|w| w.to_string())
        }
    };
    let mut kept = Vec::new();
    for c in candidates {
        match &workshop {
            Some(w) if *w != c.results.payload.workshop => rejected.push(Rejected {
                reason: format!("from workshop {:?}, not {w:?}", c.results.payload.workshop),
                file: c.file,
            }),
            _ => kept.push(c),
        }
    }
    Ok((workshop, kept))
}

/// Per learner key, the file with the latest `submitted_at` (on a tie, the first by name);
/// the others are superseded by it. Keeps the files' name order.
fn latest_per_key(candidates: Vec<Candidate>) -> (Vec<Candidate>, Vec<Superseded>) {
    let mut latest: BTreeMap<&str, (usize, DateTime<Utc>)> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let at = c.results.payload.submitted_at;
        let entry = latest
            .entry(c.results.public_key.as_str())
            .or_insert((i, at));
        if at > entry.1 {
            *entry = (i, at);
        }
    }
    let winners: BTreeMap<String, usize> = latest
        .into_iter()
        .map(|(k, (i, _))| (k.to_string(), i))
        .collect();
    let names: Vec<String> = candidates.iter().map(|c| c.file.clone()).collect();
    let mut kept = Vec::new();
    let mut superseded = Vec::new();
    for (i, c) in candidates.into_iter().enumerate() {
        let winner = winners[&c.results.public_key];
        if winner == i {
            kept.push(c);
        } else {
            superseded.push(Superseded {
                submitted_at: c.results.payload.submitted_at,
                file: c.file,
                by: names[winner].clone(),
            });
        }
    }
    (kept, superseded)
}

/// The key and seed of a results file belong together, are not another file's, and (with a
/// roster) the key is one the instructor noted.
fn check_identity(
    results: &ResultsFile,
    roster: Option<&Roster>,
    seeds: &BTreeMap<u64, String>,
) -> Result<(), String> {
    let p = &results.payload;
    let fp = fingerprint(&results.public_key);
    if let Some(roster) = roster
        && !roster.names.contains_key(&fp)
    {
        return Err(format!(
            "its key {fp} is not on the roster: ask the learner for the key `keylab submit` printed, and add it"
        ));
    }
    let public: [u8; 32] = hex::decode(&results.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the public key is not 32 bytes of hex")?;
    if p.seed != crate::lab::learner::seed_for(&public) {
        return Err(format!(
            "its seed {} is not the seed of its key {fp}: the progress was made under another learner's key (copied), or by an older keylab; the learner should submit from the data directory they worked in",
            p.seed
        ));
    }
    if let Some(first) = seeds.get(&p.seed) {
        return Err(format!(
            "the same seed as {first}: the same progress handed in twice"
        ));
    }
    Ok(())
}

/// Notes learners whose evidence for an exercise is identical to another learner's: names
/// differ per seed, so identical files were most likely copied.
fn flag_shared_evidence(accepted: &mut [(String, ResultsFile, Rerun)]) {
    let mut seen: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, (_, r, _)) in accepted.iter().enumerate() {
        for x in &r.payload.exercises {
            if x.evidence.files.is_empty() {
                continue;
            }
            let body = serde_json::to_string(&x.evidence.files).unwrap_or_default();
            seen.entry((x.id.clone(), body)).or_default().push(i);
        }
    }
    for ((exercise, _), who) in seen {
        if who.len() < 2 {
            continue;
        }
        let files: Vec<String> = who.iter().map(|&i| accepted[i].0.clone()).collect();
        for &i in &who {
            let others: Vec<&String> = files.iter().filter(|f| **f != accepted[i].0).collect();
            accepted[i].2.notes.push(format!(
                "{exercise}: the same evidence files as {}",
                others
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

/// What re-running one results file found.
#[derive(Debug, Default, Clone)]
pub(super) struct Rerun {
    /// Checks run again, all agreeing with the record.
    pub(super) checks: usize,
    /// Passed exercises whose graders have no re-runnable check (passed on trust).
    pub(super) unverified: Vec<String>,
    /// Passed exercises whose evidence does not show the pass (counted as in progress).
    pub(super) not_shown: Vec<String>,
    /// Notes for the instructor.
    pub(super) notes: Vec<String>,
}

/// Runs the re-runnable checks of every exercise that carries evidence, with the recorded
/// names and files, and compares each verdict with the recorded one. A pass claimed for an
/// exercise with re-runnable checks must carry their evidence (else the file is rejected) and
/// must pass when run again (else it counts as started, with a note).
async fn rerun(pack: &Pack, results: &ResultsFile, root: &Path) -> Result<Rerun, String> {
    let p = &results.payload;
    let mut outcome = Rerun::default();
    for x in &p.exercises {
        let Some(exercise) = pack.exercise(&x.id) else {
            return Err(format!(
                "names exercise {:?}, which the pack does not have",
                x.id
            ));
        };
        for (name, kind) in &exercise.spec.vars {
            let expected = crate::lab::vars::value(p.seed, &x.id, name, *kind);
            if x.evidence.vars.get(name).is_some_and(|v| *v != expected) {
                return Err(format!(
                    "{}: the seed {} does not give the recorded {name} ({}): the results were not made with this seed",
                    x.id, p.seed, x.evidence.vars[name]
                ));
            }
        }
        let grader = &pack.graders[&x.id];
        let every_rerunnable: Vec<usize> = grader
            .checks
            .iter()
            .enumerate()
            .filter(|(_, c)| is_rerunnable(&c.kind))
            .map(|(i, _)| i)
            .collect();
        let claims_pass = x.passed_at.is_some();
        if claims_pass && every_rerunnable.is_empty() {
            outcome.unverified.push(x.id.clone());
        }
        let recorded_all = every_rerunnable
            .iter()
            .all(|i| x.checks.iter().any(|r| r.index == *i));
        if claims_pass
            && !every_rerunnable.is_empty()
            && (!recorded_all || x.evidence.files.is_empty())
        {
            return Err(format!(
                "{}: recorded as passed without the evidence that re-runs its checks (the files `keylab check` keeps): the pass cannot be shown, so the file is not accepted",
                x.id
            ));
        }
        let rerunnable: Vec<usize> = every_rerunnable
            .iter()
            .copied()
            .filter(|i| x.checks.iter().any(|r| r.index == *i))
            .collect();
        if rerunnable.is_empty() || x.evidence.files.is_empty() {
            continue;
        }
        let dir = root.join(&x.id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let record = serde_json::json!({ "seed": p.seed, "vars": x.evidence.vars });
        std::fs::write(dir.join("setup.json"), record.to_string()).map_err(|e| e.to_string())?;
        let session = Session::open_on(pack, &x.id, &dir, p.seed, &Target::Engine)
            .await
            .map_err(|e| format!("{}: cannot re-run its checks: {e}", x.id))?;
        for (path, text) in &x.evidence.files {
            if let Err(e) = crate::confine::write(&session.workspace, path, text.as_bytes()) {
                session.shutdown().await;
                return Err(format!("{}: evidence {e}", x.id));
            }
        }
        let verdicts = run_checks_where(&session, |c| is_rerunnable(&c.kind)).await;
        session.shutdown().await;
        let shows_pass = verdicts
            .iter()
            .all(|(_, r)| matches!(r.status, Status::Pass | Status::NotApplicable));
        if claims_pass && !shows_pass {
            outcome.not_shown.push(x.id.clone());
            outcome.notes.push(format!(
                "{}: passed once, but the evidence of its last check does not pass: counted as in progress",
                x.id
            ));
        }
        for (index, result) in verdicts {
            let recorded = x.checks.iter().find(|r| r.index == index);
            if let Some(r) = recorded
                && r.status != result.status
            {
                return Err(format!(
                    "{}: check {} ({:?}) was recorded as {} but is {} when run again from the evidence",
                    x.id,
                    index + 1,
                    grader.checks[index].title,
                    r.status.word(),
                    result.status.word()
                ));
            }
            outcome.checks += 1;
        }
    }
    Ok(outcome)
}
