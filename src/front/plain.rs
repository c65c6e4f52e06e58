//! `keylab --plain`: the lab line by line, without the full-screen UI, for screen readers,
//! dumb terminals and scripts. It reads commands from standard input (`list`, `read N`,
//! `open ID`, `check`, `hint`, `reset`, `drill`, `exam`, `readiness`, `quit`; anything else
//! runs in the open exercise's console) and prints plain text, with the same backend worker
//! and progress as the TUI.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use super::worker::{Job, Ready, Worker, WorkerEvent};
use crate::lab::check::Status;
use crate::lab::course;
use crate::lab::progress::{DataDir, Progress};
use crate::lab::session::Target;
use crate::pack::Pack;
use crate::study::drill::{Pick, ROUND_SIZE, questions};
use crate::study::exam::{ExamConfig, pick};
use crate::study::readiness;
use crate::study::srs::rating_name;
use crate::study::text;
use chrono::Utc;

const HELP: &str = "Commands: list | read N | open EXERCISE | check | hint | reset | \
drill [due|mixed|LESSON|ITEM] | exam [QUESTIONS] | readiness | help | quit. \
Anything else runs in the open exercise's console (AWS CLI syntax; type 'help' after open).";

/// The round `drill WHAT` asks for: `due`, `mixed` (the default), a lesson id or a DEA-C01 item.
fn pick_of(pack: &Pack, what: &str) -> Result<Pick, String> {
    let pick = match what {
        "" | "mixed" => Pick::Mixed,
        "due" => Pick::Due,
        w if pack.lessons.iter().any(|l| l.id == w) => Pick::Lesson(w.to_string()),
        w => Pick::Item(w.to_string()),
    };
    pick.validate(pack)?;
    Ok(pick)
}

fn wait(rx: &Receiver<WorkerEvent>) -> Option<WorkerEvent> {
    rx.recv().ok()
}

/// Runs plain mode over `input` and `out`.
pub fn run(
    pack: Arc<Pack>,
    data: DataDir,
    target: Target,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<(), String> {
    let progress_path = data.progress_file();
    let mut progress = Progress::load(&progress_path)?;
    let (tx, rx) = channel();
    let worker = Worker::start(pack.clone(), data, progress.seed, target, tx);
    let mut open: Option<String> = None;
    let mut vars = std::collections::BTreeMap::new();
    let mut explanation = String::new();
    let say = |out: &mut dyn Write, text: &str| {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    };
    say(
        &mut out,
        &format!("keylab, plain mode: {}", pack.manifest.title),
    );
    say(&mut out, HELP);
    let mut lines = input.lines().map_while(Result::ok);
    while let Some(line) = lines.next() {
        let line = line.trim().to_string();
        let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match word {
            "" => continue,
            "quit" | "exit" => break,
            "help" if open.is_none() => say(&mut out, HELP),
            "list" => {
                for (i, lesson) in pack.lessons.iter().enumerate() {
                    say(&mut out, &format!("{}. lesson: {}", i + 1, lesson.title));
                    for id in &lesson.exercises {
                        let state = course::state_of(&progress, id, Utc::now());
                        say(&mut out, &format!("   exercise {id} ({})", state.word()));
                    }
                }
            }
            "read" => {
                let lesson = rest
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| pack.lessons.get(n.wrapping_sub(1)))
                    .or_else(|| pack.lessons.iter().find(|l| l.id == rest.trim()));
                match lesson {
                    Some(l) => say(&mut out, &format!("{}\n\n{}", l.title, l.body.trim())),
                    None => say(&mut out, "read N: N is a lesson number from list"),
                }
            }
            "open" => {
                let id = rest.trim().to_string();
                if pack.exercise(&id).is_none() {
                    say(&mut out, &format!("no exercise {id}; list shows them"));
                    continue;
                }
                say(&mut out, &format!("Setting up {id}…"));
                worker.send(Job::Open(id.clone()));
                match wait(&rx) {
                    Some(WorkerEvent::ExerciseReady(Ready {
                        instructions,
                        vars: v,
                        explanation: e,
                        ..
                    })) => {
                        say(&mut out, instructions.trim());
                        vars = v;
                        explanation = e;
                        progress.record_open(&id, Utc::now());
                        progress.save(&progress_path)?;
                        open = Some(id);
                    }
                    Some(WorkerEvent::ExerciseFailed(e)) => say(&mut out, &format!("error: {e}")),
                    _ => {}
                }
            }
            "check" | "hint" | "reset" if open.is_none() => say(&mut out, "open an exercise first"),
            "check" => {
                worker.send(Job::Check);
                let Some(WorkerEvent::CheckDone {
                    results,
                    at,
                    evidence,
                }) = wait(&rx)
                else {
                    continue;
                };
                let Some(exercise) = open.as_deref().and_then(|id| pack.exercise(id)) else {
                    continue;
                };
                let graded = course::record_check(&mut progress, exercise, results, evidence, at);
                progress.save(&progress_path)?;
                for r in &graded.results {
                    say(
                        &mut out,
                        &format!("{}: {}", r.status.word().to_uppercase(), r.title),
                    );
                    if r.status != Status::Pass {
                        say(&mut out, &format!("  {}", r.message));
                    }
                }
                say(
                    &mut out,
                    &format!(
                        "{} of {} checks passed",
                        graded.passed,
                        graded.results.len()
                    ),
                );
                if let Some(r) = graded.review {
                    say(&mut out, &format!("review: {}", rating_name(r)));
                }
                if graded.is_pass() {
                    say(&mut out, explanation.trim());
                }
            }
            "hint" => {
                let Some(exercise) = open.as_deref().and_then(|id| pack.exercise(id)) else {
                    continue;
                };
                let hints = course::next_hint(&mut progress, exercise, Utc::now());
                progress.save(&progress_path)?;
                if let Some(h) = hints.last() {
                    let text = crate::lab::vars::substitute(&h.text, &vars)
                        .unwrap_or_else(|_| h.text.clone());
                    say(
                        &mut out,
                        &format!("Hint {} of {}: {text}", h.number, h.total),
                    );
                }
            }
            "drill" => {
                let round = match pick_of(&pack, rest.trim()) {
                    Ok(p) => questions(
                        &pack,
                        &progress.deck,
                        &p,
                        Utc::now(),
                        ROUND_SIZE,
                        progress.round_seed(),
                    ),
                    Err(e) => {
                        say(&mut out, &e);
                        continue;
                    }
                };
                if round.is_empty() {
                    say(
                        &mut out,
                        "Nothing is due for review now: try drill mixed, a lesson or an item (K1 … S4).",
                    );
                    continue;
                }
                progress.with_deck(&progress_path, |deck, save| {
                    text::drill(&pack, deck, &round, &mut lines, &mut out, &Utc::now, save)
                })?;
            }
            "exam" => {
                let count = rest.trim().parse::<usize>().ok();
                let config = match ExamConfig::new(count, None) {
                    Ok(c) => c,
                    Err(e) => {
                        say(&mut out, &e);
                        continue;
                    }
                };
                let picked = pick(&pack, config.questions, progress.round_seed());
                progress.with_deck(&progress_path, |deck, save| {
                    text::exam(
                        &pack,
                        deck,
                        &picked,
                        config.minutes,
                        &mut lines,
                        &mut out,
                        &Utc::now,
                        save,
                    )
                })?;
            }
            "readiness" => {
                let rows = progress.readiness(&pack, Utc::now());
                let _ = write!(out, "{}", readiness::to_table(&rows));
            }
            "reset" => {
                progress.record_reset(open.as_deref().unwrap_or_default(), Utc::now());
                progress.save(&progress_path)?;
                worker.send(Job::Reset);
                match wait(&rx) {
                    Some(WorkerEvent::ExerciseReady(_)) => say(&mut out, "reset to the setup"),
                    Some(WorkerEvent::ExerciseFailed(e)) => say(&mut out, &format!("error: {e}")),
                    _ => {}
                }
            }
            _ if open.is_none() => say(&mut out, &format!("unknown command '{word}'. {HELP}")),
            _ => {
                let line = match crate::lab::vars::substitute(&line, &vars) {
                    Ok(l) => l,
                    Err(e) => {
                        say(&mut out, &e);
                        continue;
                    }
                };
                worker.send(Job::Run(line));
                if let Some(WorkerEvent::CommandDone { outcome, .. }) = wait(&rx) {
                    let _ = write!(out, "{}", outcome.stdout);
                    let _ = write!(out, "{}", outcome.stderr);
                    let _ = out.flush();
                }
            }
        }
    }
    worker.stop();
    Ok(())
}
