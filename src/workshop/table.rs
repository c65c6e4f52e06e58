//! Builds the class table ([`Class`]) from the accepted results: per learner every exercise
//! opened (passed or not, attempts, hints, minutes, the checks failing now) and the one they
//! are working on (the exercise not passed they checked last); per exercise who passed it and
//! who is on it now; the checks learners failed other than in the starting state; and the
//! known mistakes ([`super::mistakes`]) their failing checks match.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::class::{
    CheckRow, Class, ExerciseRow, FailingCheck, LearnerExercise, LearnerRow, MistakeRow, Rejected,
    Rerun, Superseded,
};
use super::mistakes::{Mistakes, Signature};
use super::results::{ExerciseResult, ResultsFile, fingerprint};
use crate::lab::check::Status;
use crate::lab::progress::parse_failing_key;
use crate::pack::Pack;

/// Minutes between two times, never negative.
fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds().max(0) as f64 / 60.0
}

fn passed_time(x: &ExerciseResult) -> Option<DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(x.passed_at.as_deref()?)
        .ok()
        .map(|t| t.to_utc())
}

/// A check's title with the learner's names filled in.
fn title(pack: &Pack, x: &ExerciseResult, index: usize) -> String {
    let mut t = pack
        .graders
        .get(&x.id)
        .and_then(|g| g.checks.get(index))
        .map_or_else(|| format!("check {}", index + 1), |c| c.title.clone());
    for (k, v) in &x.evidence.vars {
        t = t.replace(&format!("{{{{{k}}}}}"), v);
    }
    t
}

/// The checks of a result by status.
fn with_status(x: &ExerciseResult, keep: impl Fn(Status) -> bool) -> BTreeSet<usize> {
    x.checks
        .iter()
        .filter(|c| keep(c.status))
        .map(|c| c.index)
        .collect()
}

/// One learner's view of one exercise.
fn learner_exercise(
    pack: &Pack,
    mistakes: &Mistakes,
    r: &ResultsFile,
    run: &Rerun,
    x: &ExerciseResult,
) -> LearnerExercise {
    let passed = x.passed_at.is_some() && !run.not_shown.contains(&x.id);
    let failing = with_status(x, |s| matches!(s, Status::Fail | Status::Error));
    let not_run = with_status(x, |s| s == Status::NotApplicable);
    let signature = mistakes.get(&x.id);
    let end = if passed {
        passed_time(x)
    } else {
        Some(r.payload.submitted_at)
    };
    LearnerExercise {
        id: x.id.clone(),
        passed,
        pass_shown_by: match passed {
            false => String::new(),
            true if run.unverified.contains(&x.id) => "on trust".into(),
            true => "checks re-run from evidence".into(),
        },
        attempts: x.attempts,
        hints: x.hints_used,
        minutes: x
            .first_opened_at
            .zip(end)
            .map(|(a, b)| minutes_between(a, b)),
        first_opened_at: x.first_opened_at,
        passed_at: x.passed_at.clone(),
        failing: failing
            .iter()
            .map(|&index| FailingCheck {
                index,
                title: title(pack, x, index),
            })
            .collect(),
        starting_state: !passed && signature.is_some_and(|s| s.is_starting(&failing, &not_run)),
        known_mistakes: match (passed, signature) {
            (false, Some(s)) => s
                .matches(&failing, &not_run)
                .into_iter()
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        last_active: x.last_checked_at.or(x.first_opened_at),
    }
}

/// The checks a learner failed at some attempt other than in the starting state: from the
/// sets of failing checks they recorded, or (a file of an older keylab) every check failed.
fn failed_beyond_start(x: &ExerciseResult, signature: Option<&Signature>) -> BTreeSet<usize> {
    if x.failing_sets.is_empty() {
        return x
            .failed_checks
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(i, _)| *i)
            .collect();
    }
    let not_run = with_status(x, |s| s == Status::NotApplicable);
    x.failing_sets
        .keys()
        .map(|k| parse_failing_key(k))
        .filter(|set| !signature.is_some_and(|s| s.is_starting(set, &not_run)))
        .flatten()
        .collect()
}

/// The known mistakes a learner's checks matched at some attempt.
fn mistakes_ever(x: &ExerciseResult, signature: &Signature) -> BTreeSet<String> {
    let not_run = with_status(x, |s| s == Status::NotApplicable);
    let failing = with_status(x, |s| matches!(s, Status::Fail | Status::Error));
    x.failing_sets
        .keys()
        .map(|k| parse_failing_key(k))
        .chain(std::iter::once(failing))
        .flat_map(|set| {
            signature
                .matches(&set, &not_run)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Builds the class.
pub(super) fn table(
    pack: &Pack,
    mistakes: &Mistakes,
    workshop: Option<String>,
    accepted: Vec<(String, ResultsFile, Rerun)>,
    superseded: Vec<Superseded>,
    rejected: Vec<Rejected>,
) -> Class {
    let mut learners = learner_rows(pack, mistakes, &accepted);
    learners.sort_by(|a, b| a.learner.cmp(&b.learner).then(a.file.cmp(&b.file)));
    let mut exercises = Vec::new();
    let mut failed: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new();
    let mut mistake_rows = Vec::new();
    for (xi, x) in pack.exercises.iter().enumerate() {
        let rows: Vec<&ExerciseResult> = accepted
            .iter()
            .filter_map(|(_, r, _)| r.payload.exercises.iter().find(|e| e.id == x.id))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let signature = mistakes.get(&x.id);
        let mut ever: BTreeMap<String, usize> = BTreeMap::new();
        for (li, (_, r, _)) in accepted.iter().enumerate() {
            if let Some(e) = r.payload.exercises.iter().find(|e| e.id == x.id) {
                for index in failed_beyond_start(e, signature) {
                    failed.entry((xi, index)).or_default().insert(li);
                }
                if let Some(s) = signature {
                    for m in mistakes_ever(e, s) {
                        *ever.entry(m).or_default() += 1;
                    }
                }
            }
        }
        if let Some(s) = signature {
            mistake_rows.extend(known_mistakes(pack, &x.id, s, &learners, &ever));
        }
        let opened = rows.len();
        let mut times: Vec<f64> = learners
            .iter()
            .flat_map(|l| &l.exercises)
            .filter(|e| e.id == x.id && e.passed)
            .filter_map(|e| e.minutes)
            .collect();
        times.sort_by(f64::total_cmp);
        exercises.push(ExerciseRow {
            id: x.id.clone(),
            passed: learners.iter().filter(|l| l.passed.contains(&x.id)).count(),
            opened,
            hinted: rows.iter().filter(|e| e.hints_used > 0).count(),
            mean_hints: rows.iter().map(|e| f64::from(e.hints_used)).sum::<f64>() / opened as f64,
            mean_attempts: rows.iter().map(|e| f64::from(e.attempts)).sum::<f64>() / opened as f64,
            median_minutes: (!times.is_empty()).then(|| times[times.len() / 2]),
            working: learners
                .iter()
                .filter(|l| l.working_on.as_ref().is_some_and(|w| w.id == x.id))
                .map(|l| l.learner.clone())
                .collect(),
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
    mistake_rows.sort_by(|a, b| {
        (b.now.len(), b.ever)
            .cmp(&(a.now.len(), a.ever))
            .then(a.exercise.cmp(&b.exercise))
            .then(a.variant.cmp(&b.variant))
    });
    Class {
        workshop,
        pack: pack.manifest.name.clone(),
        pack_hash: pack.hash(),
        course: pack.exercises.iter().map(|x| x.id.clone()).collect(),
        learners,
        exercises,
        checks,
        mistakes: mistake_rows,
        superseded,
        rejected,
    }
}

/// One row per accepted learner, every exercise in course order.
fn learner_rows(
    pack: &Pack,
    mistakes: &Mistakes,
    accepted: &[(String, ResultsFile, Rerun)],
) -> Vec<LearnerRow> {
    let order: BTreeMap<&str, usize> = pack
        .exercises
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    accepted
        .iter()
        .map(|(file, r, run)| {
            let mut exercises: Vec<LearnerExercise> = r
                .payload
                .exercises
                .iter()
                .map(|x| learner_exercise(pack, mistakes, r, run, x))
                .collect();
            exercises.sort_by_key(|x| order.get(x.id.as_str()).copied().unwrap_or(usize::MAX));
            let working_on = exercises
                .iter()
                .filter(|x| !x.passed)
                .max_by_key(|x| x.last_active)
                .cloned();
            LearnerRow {
                file: file.clone(),
                learner: r.payload.learner.clone(),
                key: fingerprint(&r.public_key),
                submitted_at: r.payload.submitted_at,
                passed: exercises
                    .iter()
                    .filter(|x| x.passed)
                    .map(|x| x.id.clone())
                    .collect(),
                in_progress: exercises
                    .iter()
                    .filter(|x| !x.passed)
                    .map(|x| x.id.clone())
                    .collect(),
                hints: r.payload.exercises.iter().map(|x| x.hints_used).sum(),
                checks_rerun: run.checks,
                unverified: run.unverified.clone(),
                notes: run.notes.clone(),
                exercises,
                working_on,
            }
        })
        .collect()
}

/// The known mistakes of one exercise someone made: who matches each now, and how many ever.
fn known_mistakes(
    pack: &Pack,
    exercise: &str,
    signature: &Signature,
    learners: &[LearnerRow],
    ever: &BTreeMap<String, usize>,
) -> Vec<MistakeRow> {
    let mut rows = Vec::new();
    for (variant, set) in &signature.variants {
        let now: Vec<String> = learners
            .iter()
            .filter(|l| {
                l.exercises
                    .iter()
                    .any(|e| e.id == exercise && e.known_mistakes.iter().any(|m| m == variant))
            })
            .map(|l| l.learner.clone())
            .collect();
        let n = ever.get(variant).copied().unwrap_or(0);
        if n == 0 && now.is_empty() {
            continue;
        }
        let grader = &pack.graders[exercise];
        rows.push(MistakeRow {
            exercise: exercise.to_string(),
            variant: variant.clone(),
            checks: set
                .iter()
                .map(|&index| FailingCheck {
                    index,
                    title: grader
                        .checks
                        .get(index)
                        .map_or_else(String::new, |c| c.title.clone()),
                })
                .collect(),
            ever: n.max(now.len()),
            now,
        });
    }
    rows
}
