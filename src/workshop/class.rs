//! `keylab class collect DIR`: the instructor's view of a workshop. Every results file in the
//! folder is verified (its signature, that it was made with this pack's exact content, the
//! workshop id, one file per learner key) and its re-runnable checks are run again from the
//! evidence it carries, with the names its seed gives; a file that fails any of this is listed
//! as rejected with the reason. The accepted ones make the class table: who finished what, the
//! checks (and the misconceptions their failure messages name) most learners failed, and the
//! hints that were needed. Rendered as text, CSV or JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use serde::Serialize;

use super::results::{ResultsFile, fingerprint, read_verified};
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
}

/// The learners table's columns.
pub const LEARNER_COLUMNS: [&str; 7] = [
    "learner", "passed", "started", "hints", "re-run", "key", "finished",
];

impl LearnerRow {
    /// The row under [`LEARNER_COLUMNS`].
    pub fn cells(&self) -> [String; 7] {
        [
            self.learner.clone(),
            self.passed.len().to_string(),
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

/// Reads, verifies and re-runs every `*.json` in `dir`; `scratch` is an empty folder for the
/// re-runs.
pub async fn collect(
    pack: &Pack,
    dir: &Path,
    workshop: Option<&str>,
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
    let mut accepted: Vec<(String, ResultsFile, usize)> = Vec::new();
    let mut rejected = Vec::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
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
        let root = scratch.join(n.to_string());
        match rerun(pack, &results, &root).await {
            Ok(count) => {
                keys.insert(results.public_key.clone(), file.clone());
                accepted.push((file, results, count));
            }
            Err(e) => rejected.push(reject(e)),
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    Ok(table(pack, workshop, hash, accepted, rejected))
}

/// Runs the re-runnable checks of every exercise that carries evidence, with the recorded
/// names and files, and compares each verdict with the recorded one. Returns how many ran.
async fn rerun(pack: &Pack, results: &ResultsFile, root: &Path) -> Result<usize, String> {
    let p = &results.payload;
    let mut count = 0;
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
        let rerunnable: Vec<usize> = grader
            .checks
            .iter()
            .enumerate()
            .filter(|(i, c)| is_rerunnable(&c.kind) && x.checks.iter().any(|r| r.index == *i))
            .map(|(i, _)| i)
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
            let safe = Path::new(path)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            if !safe {
                session.shutdown().await;
                return Err(format!(
                    "{}: evidence path {path:?} leaves the workspace",
                    x.id
                ));
            }
            let full = session.workspace.join(path);
            if let Some(parent) = full.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            std::fs::write(&full, text).map_err(|e| e.to_string())?;
        }
        let verdicts = run_checks_where(&session, |c| is_rerunnable(&c.kind)).await;
        session.shutdown().await;
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
            count += 1;
        }
    }
    Ok(count)
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
    accepted: Vec<(String, ResultsFile, usize)>,
    rejected: Vec<Rejected>,
) -> Class {
    let mut learners: Vec<LearnerRow> = accepted
        .iter()
        .map(|(file, r, rerun_checks)| LearnerRow {
            file: file.clone(),
            learner: r.payload.learner.clone(),
            key: fingerprint(&r.public_key),
            passed: r
                .payload
                .exercises
                .iter()
                .filter(|x| x.passed_at.is_some())
                .map(|x| x.id.clone())
                .collect(),
            started: r
                .payload
                .exercises
                .iter()
                .filter(|x| x.passed_at.is_none())
                .map(|x| x.id.clone())
                .collect(),
            hints: r.payload.exercises.iter().map(|x| x.hints_used).sum(),
            rerun_checks: *rerun_checks,
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
            passed: rows.iter().filter(|e| e.passed_at.is_some()).count(),
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
        if !self.rejected.is_empty() {
            out.push_str("\nRejected:\n");
            for r in &self.rejected {
                out.push_str(&format!("  {}: {}\n", r.file, r.reason));
            }
        }
        out
    }

    /// One CSV row per learner and exercise opened.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["learner", "key", "exercise", "status", "file"]);
        for l in &self.learners {
            for (status, list) in [("passed", &l.passed), ("started", &l.started)] {
                for x in list {
                    let _ = w.write_record([l.learner.as_str(), &l.key, x, status, &l.file]);
                }
            }
        }
        for r in &self.rejected {
            let _ = w.write_record(["", "", "", "rejected", &r.file]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
