//! `keylab class collect DIR`: the instructor's view of a workshop. Every results file in the
//! folder is verified and its re-runnable checks are run again from the evidence it carries,
//! with the names its seed gives; a file that fails any of this is listed as rejected with the
//! reason. The accepted ones make the class table: who finished what, the checks (and the
//! misconceptions their failure messages name) most learners failed, and the hints that were
//! needed. Rendered as text, CSV or JSON; every text from a results file is sanitised.
//!
//! What an accepted file proves: it was signed by the key it carries and not edited since; it
//! was made with this pack's exact content for this workshop; its seed is that key's (so it is
//! not a classmate's progress signed with another key); it is the only file of its key and its
//! seed (and, with `--roster`, its key is one the instructor noted); and every exercise it
//! claims as passed whose grader has re-runnable checks (workspace files, configuration
//! documents) carries the files those checks read, and they pass when run again here.
//! What it does not prove: who sat at the keyboard (the key proves only continuity: note each
//! learner's fingerprint, or use `--roster`); that the learner wrote the files themselves
//! (identical evidence across learners is flagged, not rejected); or passes of checks that
//! need the learner's own backend (key states, bucket settings, the audit log), which cannot
//! be re-run from a file: those are counted as passed on trust and shown as such.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

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

/// One learner's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerRow {
    /// The file name.
    pub file: String,
    /// The learner's name.
    pub learner: String,
    /// The key's fingerprint.
    pub key: String,
    /// Exercises passed, in course order.
    pub passed: Vec<String>,
    /// Exercises opened but not passed.
    pub started: Vec<String>,
    /// Hints shown, over every exercise.
    pub hints: u32,
    /// Checks re-run from the evidence, all agreeing.
    pub rerun_checks: usize,
    /// Of the passed exercises, those with no re-runnable check: passed on trust.
    #[serde(default)]
    pub unverified: Vec<String>,
    /// What the instructor should look at (shared evidence, a name the roster spells
    /// otherwise, a pass the evidence no longer shows).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The learners table's columns.
pub const LEARNER_COLUMNS: [&str; 7] = [
    "learner", "passed", "started", "hints", "re-run", "key", "finished",
];

impl LearnerRow {
    /// The row under [`LEARNER_COLUMNS`].
    pub fn cells(&self) -> [String; 7] {
        let passed = match self.unverified.len() {
            0 => self.passed.len().to_string(),
            n => format!("{} ({n} on trust)", self.passed.len()),
        };
        [
            self.learner.clone(),
            passed,
            self.started.len().to_string(),
            self.hints.to_string(),
            self.rerun_checks.to_string(),
            self.key.clone(),
            self.passed.join(", "),
        ]
    }
}

/// The exercises table's columns.
pub const EXERCISE_COLUMNS: [&str; 7] = [
    "exercise", "passed", "started", "hinted", "hints", "attempts", "minutes",
];

/// One exercise's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExerciseRow {
    /// The exercise id.
    pub id: String,
    /// Learners who passed it.
    pub passed: usize,
    /// Learners who opened it.
    pub started: usize,
    /// Learners who needed hints.
    pub hinted: usize,
    /// Hints per learner who opened it.
    pub mean_hints: f64,
    /// Checks run per learner who opened it.
    pub mean_attempts: f64,
    /// Median minutes from opening to passing, among those who passed.
    pub median_minutes: Option<f64>,
}

impl ExerciseRow {
    /// The row under [`EXERCISE_COLUMNS`].
    pub fn cells(&self) -> [String; 7] {
        [
            self.id.clone(),
            self.passed.to_string(),
            self.started.to_string(),
            self.hinted.to_string(),
            format!("{:.1}", self.mean_hints),
            format!("{:.1}", self.mean_attempts),
            self.median_minutes
                .map_or("-".into(), |m| format!("{m:.0}")),
        ]
    }
}

/// A check most learners failed.
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
    /// Learners who failed it at least once.
    pub learners: usize,
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
    /// Accepted learners, by name.
    pub learners: Vec<LearnerRow>,
    /// Per exercise, in course order (those someone opened).
    pub exercises: Vec<ExerciseRow>,
    /// Checks failed by at least one learner, most learners first.
    pub checks: Vec<CheckRow>,
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
/// re-runs. With a roster, keys not on it are rejected.
pub async fn collect(
    pack: &Pack,
    dir: &Path,
    workshop: Option<&str>,
    roster: Option<&Roster>,
    scratch: &Path,
) -> Result<Class, String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let hash = pack.hash();
    let mut workshop = workshop.map(str::to_string);
    let mut accepted: Vec<(String, ResultsFile, Rerun)> = Vec::new();
    let mut rejected = Vec::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut seeds: BTreeMap<u64, String> = BTreeMap::new();
    for (n, path) in names.iter().enumerate() {
        let file = path
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned());
        let reject = |reason: String| Rejected {
            file: file.clone(),
            reason,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                rejected.push(reject(format!("cannot read: {e}")));
                continue;
            }
        };
        let results = match read_verified(&bytes) {
            Ok(r) => r,
            Err(e) => {
                rejected.push(reject(e));
                continue;
            }
        };
        let p = &results.payload;
        if p.pack.hash != hash {
            rejected.push(reject(format!(
                "made with another pack: {} {}…, this pack is {} {}… (give the learners the same pack, or collect with its --pack)",
                p.pack.name,
                &p.pack.hash[..p.pack.hash.len().min(12)],
                pack.manifest.name,
                &hash[..12]
            )));
            continue;
        }
        match &workshop {
            Some(w) if *w != p.workshop => {
                rejected.push(reject(format!("from workshop {:?}, not {w:?}", p.workshop)));
                continue;
            }
            Some(_) => {}
            None => workshop = Some(p.workshop.clone()),
        }
        if let Some(first) = keys.get(&results.public_key) {
            rejected.push(reject(format!(
                "the same learner key as {first}: one results file per learner"
            )));
            continue;
        }
        if let Err(why) = check_identity(&results, roster, &seeds) {
            rejected.push(reject(why));
            continue;
        }
        let root = scratch.join(n.to_string());
        match rerun(pack, &results, &root).await {
            Ok(mut outcome) => {
                keys.insert(results.public_key.clone(), file.clone());
                seeds.insert(p.seed, file.clone());
                if let Some(listed) =
                    roster.and_then(|r| r.names.get(&fingerprint(&results.public_key)))
                    && !listed.is_empty()
                    && *listed != p.learner
                {
                    outcome.notes.push(format!(
                        "names itself {:?}; the roster says {listed:?}",
                        p.learner
                    ));
                }
                accepted.push((file, results, outcome));
            }
            Err(e) => rejected.push(reject(e)),
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    flag_shared_evidence(&mut accepted);
    Ok(table(pack, workshop, hash, accepted, rejected))
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
#[derive(Debug, Default)]
struct Rerun {
    /// Checks run again, all agreeing with the record.
    checks: usize,
    /// Passed exercises whose graders have no re-runnable check (passed on trust).
    unverified: Vec<String>,
    /// Passed exercises whose evidence does not show the pass (counted as started).
    not_shown: Vec<String>,
    /// Notes for the instructor.
    notes: Vec<String>,
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
                "{}: passed once, but the evidence of its last check does not pass: counted as started",
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

fn minutes(x: &super::results::ExerciseResult) -> Option<f64> {
    let passed = chrono::DateTime::parse_from_rfc3339(x.passed_at.as_deref()?).ok()?;
    let opened = x.first_opened_at?;
    Some((passed.to_utc() - opened).num_seconds().max(0) as f64 / 60.0)
}

fn table(
    pack: &Pack,
    workshop: Option<String>,
    hash: String,
    accepted: Vec<(String, ResultsFile, Rerun)>,
    rejected: Vec<Rejected>,
) -> Class {
    let passes = |r: &ResultsFile, run: &Rerun, x: &super::results::ExerciseResult| {
        x.passed_at.is_some() && !run.not_shown.contains(&x.id) && r.payload.exercises.contains(x)
    };
    let mut learners: Vec<LearnerRow> = accepted
        .iter()
        .map(|(file, r, run)| LearnerRow {
            file: file.clone(),
            learner: r.payload.learner.clone(),
            key: fingerprint(&r.public_key),
            passed: r
                .payload
                .exercises
                .iter()
                .filter(|x| passes(r, run, x))
                .map(|x| x.id.clone())
                .collect(),
            started: r
                .payload
                .exercises
                .iter()
                .filter(|x| !passes(r, run, x))
                .map(|x| x.id.clone())
                .collect(),
            hints: r.payload.exercises.iter().map(|x| x.hints_used).sum(),
            rerun_checks: run.checks,
            unverified: run.unverified.clone(),
            notes: run.notes.clone(),
        })
        .collect();
    learners.sort_by(|a, b| a.learner.cmp(&b.learner).then(a.file.cmp(&b.file)));
    let mut exercises = Vec::new();
    let mut failed: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
    for (xi, x) in pack.exercises.iter().enumerate() {
        let rows: Vec<&super::results::ExerciseResult> = accepted
            .iter()
            .filter_map(|(_, r, _)| r.payload.exercises.iter().find(|e| e.id == x.id))
            .collect();
        if rows.is_empty() {
            continue;
        }
        for (li, (_, r, _)) in accepted.iter().enumerate() {
            if let Some(e) = r.payload.exercises.iter().find(|e| e.id == x.id) {
                for (&index, &n) in &e.failed_checks {
                    if n > 0 {
                        failed.entry((xi, index)).or_default().insert(li);
                    }
                }
            }
        }
        let started = rows.len();
        let mut times: Vec<f64> = rows.iter().filter_map(|e| minutes(e)).collect();
        times.sort_by(f64::total_cmp);
        exercises.push(ExerciseRow {
            id: x.id.clone(),
            passed: learners.iter().filter(|l| l.passed.contains(&x.id)).count(),
            started,
            hinted: rows.iter().filter(|e| e.hints_used > 0).count(),
            mean_hints: rows.iter().map(|e| f64::from(e.hints_used)).sum::<f64>() / started as f64,
            mean_attempts: rows.iter().map(|e| f64::from(e.attempts)).sum::<f64>() / started as f64,
            median_minutes: (!times.is_empty()).then(|| times[times.len() / 2]),
        });
    }
    let mut checks: Vec<CheckRow> = failed
        .into_iter()
        .filter_map(|((xi, index), who)| {
            let x = &pack.exercises[xi];
            let check = pack.graders.get(&x.id)?.checks.get(index)?;
            Some(CheckRow {
                exercise: x.id.clone(),
                index,
                title: check.title.clone(),
                misconception: check.fail.clone().unwrap_or_default(),
                learners: who.len(),
            })
        })
        .collect();
    checks.sort_by(|a, b| {
        b.learners
            .cmp(&a.learners)
            .then(a.exercise.cmp(&b.exercise))
            .then(a.index.cmp(&b.index))
    });
    Class {
        workshop,
        pack: pack.manifest.name.clone(),
        pack_hash: hash,
        learners,
        exercises,
        checks,
        rejected,
    }
}

impl Class {
    /// The class as text tables.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Workshop {} · pack {} ({}…) · {} results accepted, {} rejected\n\n",
            self.workshop.as_deref().unwrap_or("-"),
            self.pack,
            &self.pack_hash[..12],
            self.learners.len(),
            self.rejected.len()
        );
        let learner_line = |c: &[String; 7]| {
            format!(
                "{:<20} {:>6} {:>7} {:>5} {:>6}  {:<16} {}\n",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6]
            )
        };
        out.push_str(&learner_line(&LEARNER_COLUMNS.map(String::from)));
        for l in &self.learners {
            out.push_str(&learner_line(&l.cells()));
        }
        let exercise_line = |c: &[String; 7]| {
            format!(
                "{:<26} {:>6} {:>7} {:>7} {:>6} {:>8} {:>8}\n",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6]
            )
        };
        out.push('\n');
        out.push_str(&exercise_line(&EXERCISE_COLUMNS.map(String::from)));
        for x in &self.exercises {
            out.push_str(&exercise_line(&x.cells()));
        }
        if !self.checks.is_empty() {
            out.push_str("\nChecks most learners failed (at any attempt):\n");
            for c in &self.checks {
                out.push_str(&format!(
                    "{:>3}/{:<3} {} #{}: {}{}\n",
                    c.learners,
                    self.learners.len(),
                    c.exercise,
                    c.index + 1,
                    c.title,
                    if c.misconception.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", c.misconception.trim())
                    }
                ));
            }
        }
        let noted: Vec<&LearnerRow> = self
            .learners
            .iter()
            .filter(|l| !l.notes.is_empty() || !l.unverified.is_empty())
            .collect();
        if !noted.is_empty() {
            out.push_str("\nNotes (accepted, but look):\n");
            for l in noted {
                for note in &l.notes {
                    out.push_str(&format!("  {}: {note}\n", l.file));
                }
                if !l.unverified.is_empty() {
                    out.push_str(&format!(
                        "  {}: passed on trust (no check can be re-run from a file): {}\n",
                        l.file,
                        l.unverified.join(", ")
                    ));
                }
            }
        }
        if !self.rejected.is_empty() {
            out.push_str("\nRejected:\n");
            for r in &self.rejected {
                out.push_str(&format!("  {}: {}\n", r.file, r.reason));
            }
        }
        out
    }

    /// One CSV row per learner and exercise opened (`pass` says whether a pass was re-run from
    /// its evidence or taken on trust), every cell safe to open in a spreadsheet
    /// ([`crate::sanitize::csv_cell`]).
    pub fn to_csv(&self) -> String {
        use crate::sanitize::csv_cell;
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["learner", "key", "exercise", "status", "file", "pass"]);
        for l in &self.learners {
            for (status, list) in [("passed", &l.passed), ("started", &l.started)] {
                for x in list {
                    let pass = match status {
                        "passed" if l.unverified.contains(x) => "on trust",
                        "passed" => "re-run",
                        _ => "",
                    };
                    let row = [l.learner.as_str(), &l.key, x, status, &l.file, pass];
                    let _ = w.write_record(row.map(|c| csv_cell(c).into_owned()));
                }
            }
        }
        for r in &self.rejected {
            let _ = w.write_record(["", "", "", "rejected", &csv_cell(&r.file), ""]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
