//! `keylab --plain`: the lab line by line, without the full-screen UI, for screen readers,
//! dumb terminals and scripts. It reads commands from standard input (`list`, `read N`,
//! `open ID`, `check`, `hint`, `reset`, `drill`, `exam`, `readiness`, `quit`; anything else
//! runs in the open exercise's console) and prints plain text, with the same backend worker
//! and progress as the TUI.

use std::collections::BTreeMap;
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
        w => Pick::Item(pack.find_objective(w).unwrap_or_else(|| w.to_string())),
    };
    pick.validate(pack)?;
    Ok(pick)
}

/// Runs plain mode over `input` and `out`.
pub fn run(
    pack: Arc<Pack>,
    data: DataDir,
    target: Target,
    input: impl BufRead,
    out: impl Write,
) -> Result<(), String> {
    let progress_path = data.progress_file();
    let progress = Progress::load(&progress_path)?;
    let (tx, rx) = channel();
    let worker = Worker::start(
        pack.clone(),
        data,
        progress.seed,
        super::worker::TargetSource::Ready(target),
        tx,
    );
    let mut plain = Plain {
        pack,
        progress,
        progress_path,
        worker,
        events: rx,
        open: None,
        vars: BTreeMap::new(),
        explanation: String::new(),
        out,
    };
    plain.say(&format!(
        "keylab, plain mode: {}",
        plain.pack.manifest.title
    ));
    plain.say(HELP);
    let mut lines = input.lines().map_while(Result::ok);
    while let Some(line) = lines.next() {
        let line = line.trim().to_string();
        let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let rest = rest.trim();
        match word {
            "" => continue,
            "quit" | "exit" => break,
            "help" if plain.open.is_none() => plain.say(HELP),
            "list" => plain.list(),
            "read" => plain.read(rest),
            "open" => plain.open_exercise(rest)?,
            "check" | "hint" | "reset" if plain.open.is_none() => {
                plain.say("open an exercise first")
            }
            "check" => plain.check()?,
            "hint" => plain.hint()?,
            "reset" => plain.reset()?,
            "drill" => plain.drill(rest, &mut lines)?,
            "exam" => plain.exam(rest, &mut lines)?,
            "readiness" => plain.readiness(),
            _ if plain.open.is_none() => plain.say(&format!("unknown command '{word}'. {HELP}")),
            _ => plain.console(&line),
        }
    }
    plain.worker.stop();
    Ok(())
}

/// Plain mode's state: the pack, the progress, the worker and the open exercise.
struct Plain<W: Write> {
    pack: Arc<Pack>,
    progress: Progress,
    progress_path: std::path::PathBuf,
    worker: Worker,
    events: Receiver<WorkerEvent>,
    open: Option<String>,
    vars: BTreeMap<String, String>,
    explanation: String,
    out: W,
}

impl<W: Write> Plain<W> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    fn wait(&self) -> Option<WorkerEvent> {
        self.events.recv().ok()
    }

    fn save(&self) -> Result<(), String> {
        self.progress.save(&self.progress_path)
    }

    fn list(&mut self) {
        let pack = self.pack.clone();
        for (i, lesson) in pack.lessons.iter().enumerate() {
            self.say(&format!("{}. lesson: {}", i + 1, lesson.title));
            for id in &lesson.exercises {
                let state = course::state_of(&self.progress, id, Utc::now());
                self.say(&format!("   exercise {id} ({})", state.word()));
            }
        }
    }

    fn read(&mut self, which: &str) {
        let pack = self.pack.clone();
        let lesson = which
            .parse::<usize>()
            .ok()
            .and_then(|n| pack.lessons.get(n.wrapping_sub(1)))
            .or_else(|| pack.lessons.iter().find(|l| l.id == which));
        match lesson {
            Some(l) => self.say(&format!("{}\n\n{}", l.title, l.body_with_sources().trim())),
            None => self.say("read N: N is a lesson number from list"),
        }
    }

    fn open_exercise(&mut self, id: &str) -> Result<(), String> {
        if self.pack.exercise(id).is_none() {
            self.say(&format!("no exercise {id}; list shows them"));
            return Ok(());
        }
        self.say(&format!("Setting up {id}…"));
        self.worker.send(Job::Open(id.to_string()));
        match self.wait() {
            Some(WorkerEvent::ExerciseReady(Ready {
                instructions,
                vars,
                explanation,
                ..
            })) => {
                self.say(instructions.trim());
                self.vars = vars;
                self.explanation = explanation;
                self.progress.record_open(id, Utc::now());
                self.save()?;
                self.open = Some(id.to_string());
            }
            Some(WorkerEvent::ExerciseFailed(e)) => self.say(&format!("error: {e}")),
            _ => {}
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), String> {
        self.worker.send(Job::Check);
        let Some(WorkerEvent::CheckDone {
            results,
            at,
            evidence,
        }) = self.wait()
        else {
            return Ok(());
        };
        let pack = self.pack.clone();
        let Some(exercise) = self.open.as_deref().and_then(|id| pack.exercise(id)) else {
            return Ok(());
        };
        let graded = course::record_check(&mut self.progress, exercise, results, evidence, at);
        self.save()?;
        for r in &graded.results {
            self.say(&format!("{}: {}", r.status.word().to_uppercase(), r.title));
            if r.status != Status::Pass {
                self.say(&format!("  {}", r.message));
            }
        }
        self.say(&format!(
            "{} of {} checks passed",
            graded.passed,
            graded.results.len()
        ));
        if let Some(r) = graded.review {
            self.say(&format!("review: {}", rating_name(r)));
        }
        if graded.is_pass() {
            let explanation = self.explanation.clone();
            self.say(explanation.trim());
        }
        Ok(())
    }

    fn hint(&mut self) -> Result<(), String> {
        let pack = self.pack.clone();
        let Some(exercise) = self.open.as_deref().and_then(|id| pack.exercise(id)) else {
            return Ok(());
        };
        let hints = course::next_hint(&mut self.progress, exercise, Utc::now());
        self.save()?;
        if let Some(h) = hints.last() {
            let text = crate::lab::vars::substitute(&h.text, &self.vars)
                .unwrap_or_else(|_| h.text.clone());
            self.say(&format!("Hint {} of {}: {text}", h.number, h.total));
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<(), String> {
        let id = self.open.clone().unwrap_or_default();
        self.progress.record_reset(&id, Utc::now());
        self.save()?;
        self.worker.send(Job::Reset);
        match self.wait() {
            Some(WorkerEvent::ExerciseReady(_)) => self.say("reset to the setup"),
            Some(WorkerEvent::ExerciseFailed(e)) => self.say(&format!("error: {e}")),
            _ => {}
        }
        Ok(())
    }

    fn drill(&mut self, what: &str, lines: &mut dyn Iterator<Item = String>) -> Result<(), String> {
        let pack = self.pack.clone();
        let round = match pick_of(&pack, what) {
            Ok(p) => questions(
                &pack,
                &self.progress.deck,
                &p,
                Utc::now(),
                ROUND_SIZE,
                self.progress.round_seed(),
            ),
            Err(e) => {
                self.say(&e);
                return Ok(());
            }
        };
        if round.is_empty() {
            self.say(
                "Nothing is due for review now: try drill mixed, a lesson or an item (K1 … S4).",
            );
            return Ok(());
        }
        let out = &mut self.out;
        let seed = self.progress.seed;
        self.progress.with_deck(&self.progress_path, |deck, save| {
            text::drill(&pack, deck, seed, &round, lines, out, &Utc::now, save)
        })?;
        Ok(())
    }

    fn exam(&mut self, count: &str, lines: &mut dyn Iterator<Item = String>) -> Result<(), String> {
        let config = match ExamConfig::new(count.parse::<usize>().ok(), None) {
            Ok(c) => c,
            Err(e) => {
                self.say(&e);
                return Ok(());
            }
        };
        let pack = self.pack.clone();
        let picked = pick(&pack, config.questions, self.progress.round_seed());
        let out = &mut self.out;
        let seed = self.progress.seed;
        self.progress.with_deck(&self.progress_path, |deck, save| {
            text::exam(
                &pack,
                deck,
                seed,
                &picked,
                config.minutes,
                lines,
                out,
                &Utc::now,
                save,
            )
        })?;
        Ok(())
    }

    fn readiness(&mut self) {
        let rows = self.progress.readiness(&self.pack, Utc::now());
        let _ = write!(self.out, "{}", readiness::to_table(&rows));
    }

    fn console(&mut self, line: &str) {
        let line = match crate::lab::vars::substitute(line, &self.vars) {
            Ok(l) => l,
            Err(e) => {
                self.say(&e);
                return;
            }
        };
        self.worker.send(Job::Run(line));
        if let Some(WorkerEvent::CommandDone { outcome, .. }) = self.wait() {
            let _ = write!(self.out, "{}{}", outcome.stdout, outcome.stderr);
            let _ = self.out.flush();
        }
    }
}
