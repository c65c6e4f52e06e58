//! The exercise screen: opening an exercise, the console's keys and commands, checks,
//! hints, reset and moving on.

use super::*;

impl App {
    pub(super) fn open_exercise(&mut self, id: &str) -> Vec<Effect> {
        let Some(x) = self.pack.exercise(id) else {
            return Vec::new();
        };
        if let Some(current) = &self.exercise
            && current.id == id
        {
            self.go_to(Screen::Exercise);
            return Vec::new();
        }
        let hints_shown = self
            .progress
            .exercises
            .get(id)
            .map_or(0, |p| p.hints_used as usize);
        self.exercise = Some(ExerciseState {
            id: id.to_string(),
            title: x.spec.title.clone(),
            instructions: x.readme.clone(),
            typing: true,
            hints: x.spec.hints.clone(),
            hints_shown,
            explanation: x.spec.explanation.clone(),
            busy: true,
            output: vec![(OutputKind::Info, "Setting up the exercise…".into())],
            ..Default::default()
        });
        let lesson = self.pack.lessons.iter().position(|l| l.id == x.spec.lesson);
        self.profile = x.spec.profile.clone();
        self.go_to(Screen::Exercise);
        if let Some(i) = lesson.filter(|&i| i != self.lesson) {
            self.lesson = i;
            self.lesson_scroll = 0;
        }
        self.render_lesson();
        self.render_details();
        if self.mark(id).1 == "due for review" {
            self.message =
                "Due for review: x resets it, then solve it again from the start.".into();
        }
        self.progress.record_open(id, self.now);
        vec![
            Effect::CloseExercise,
            Effect::OpenExercise(id.to_string()),
            Effect::SaveProgress,
        ]
    }

    pub(super) fn check_done(
        &mut self,
        results: Vec<CheckResult>,
        at: DateTime<Utc>,
        evidence: Evidence,
    ) -> Vec<Effect> {
        let Some(id) = self.exercise.as_ref().map(|x| x.id.clone()) else {
            return Vec::new();
        };
        let Some(exercise) = self.pack.exercise(&id).cloned() else {
            return Vec::new();
        };
        let graded = course::record_check(&mut self.progress, &exercise, results, evidence, at);
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        x.busy = false;
        x.output.push((
            OutputKind::Info,
            format!(
                "check: {} of {} passed{}",
                graded.passed,
                graded.results.len(),
                if graded.is_pass() { " — PASS" } else { "" }
            ),
        ));
        let review = graded.review.map_or(String::new(), |r| {
            format!(" (review: {})", crate::study::srs::rating_name(r))
        });
        let passed = graded.is_pass();
        self.message = if passed {
            format!("Passed{review}. n: next exercise.")
        } else {
            format!("Not yet{review}: o opens the checks in full (policy traces too), H a hint.")
        };
        x.results = Some(graded.results);
        if passed {
            self.open_details(false);
        } else {
            self.render_details();
        }
        self.render_lesson();
        vec![Effect::SaveProgress]
    }

    pub(super) fn start_check(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        if !x.ready || x.busy {
            self.message = "Busy: wait for the running job.".into();
            return Vec::new();
        }
        x.busy = true;
        vec![Effect::Check]
    }

    pub(super) fn reset(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        x.busy = true;
        x.ready = false;
        x.results = None;
        let id = x.id.clone();
        self.progress.record_reset(&id, self.now);
        x.output.push((
            OutputKind::Info,
            "Resetting the workspace and the backend…".into(),
        ));
        vec![Effect::Reset]
    }

    pub(super) fn act_exercise(&mut self, action: Action) -> Vec<Effect> {
        let max = self.instructions_max_scroll();
        let Some(x) = self.exercise.as_mut() else {
            self.go_back();
            return Vec::new();
        };
        match action {
            Action::FocusConsole => x.typing = true,
            Action::Up => x.scroll = x.scroll.saturating_sub(1),
            Action::Down => x.scroll = (x.scroll + 1).min(max),
            Action::Details | Action::Trace => self.open_details(false),
            Action::OutputUp => x.output_scroll = (x.output_scroll + 5).min(x.output.len()),
            Action::OutputDown => x.output_scroll = x.output_scroll.saturating_sub(5),
            Action::Check => return self.start_check(),
            Action::Hint => return self.hint(),
            Action::Reset => {
                self.confirm = Some(Confirm::Reset);
                self.message = "Reset the workspace and the backend state to the setup? y/n".into();
            }
            Action::Shell if x.ready => return vec![Effect::Shell],
            Action::Edit if x.ready => {
                x.typing = true;
                x.input = "edit ".into();
                x.cursor = 5;
            }
            Action::Next => return self.next_exercise(),
            Action::Back => self.go_back(),
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn hint(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        if x.hints_shown >= x.hints.len() {
            self.message = "That was the last hint.".into();
            return Vec::new();
        }
        x.hints_shown += 1;
        let total = x.hints.len();
        let id = x.id.clone();
        let shown = self.progress.record_hint(&id, total, self.now);
        if let Some(x) = self.exercise.as_mut() {
            x.hints_shown = shown as usize;
        }
        self.open_details(true);
        self.render_lesson();
        vec![Effect::SaveProgress]
    }

    pub(super) fn next_exercise(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_ref() else {
            return Vec::new();
        };
        if !x.passed() {
            self.message = "Moving on comes after a pass (or go back with Esc).".into();
            return Vec::new();
        }
        let position = self.pack.exercises.iter().position(|e| e.id == x.id);
        match position.and_then(|i| self.pack.exercises.get(i + 1)) {
            Some(next) => {
                let id = next.id.clone();
                self.open_exercise(&id)
            }
            None => {
                self.message = "That was the last exercise of the pack.".into();
                Vec::new()
            }
        }
    }

    pub(super) fn act_console(&mut self, action: Action) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        match action {
            Action::LeaveConsole => x.typing = false,
            Action::CursorLeft => x.cursor = x.cursor.saturating_sub(1),
            Action::CursorRight => x.cursor = (x.cursor + 1).min(x.input.chars().count()),
            Action::Backspace if x.cursor > 0 => {
                let at = byte_index(&x.input, x.cursor - 1);
                x.input.remove(at);
                x.cursor -= 1;
            }
            Action::Delete if x.cursor < x.input.chars().count() => {
                let at = byte_index(&x.input, x.cursor);
                x.input.remove(at);
            }
            Action::LineStart => x.cursor = 0,
            Action::LineEnd => x.cursor = x.input.chars().count(),
            Action::WordLeft => x.cursor = word_left(&x.input, x.cursor, is_alphanumeric),
            Action::WordRight => x.cursor = word_right(&x.input, x.cursor),
            Action::KillToStart => {
                let at = byte_index(&x.input, x.cursor);
                x.input.replace_range(..at, "");
                x.cursor = 0;
            }
            Action::KillToEnd => {
                let at = byte_index(&x.input, x.cursor);
                x.input.truncate(at);
            }
            Action::KillWord => {
                let start = word_left(&x.input, x.cursor, is_not_space);
                let (a, b) = (byte_index(&x.input, start), byte_index(&x.input, x.cursor));
                x.input.replace_range(a..b, "");
                x.cursor = start;
            }
            Action::EditLine => return vec![Effect::EditLine(x.input.clone())],
            Action::Details => self.open_details(false),
            Action::HistoryUp if !x.history.is_empty() => {
                let pos = x
                    .history_pos
                    .map_or(x.history.len() - 1, |p| p.saturating_sub(1));
                x.history_pos = Some(pos);
                x.input = x.history[pos].clone();
                x.cursor = x.input.chars().count();
            }
            Action::HistoryDown => match x.history_pos {
                Some(p) if p + 1 < x.history.len() => {
                    x.history_pos = Some(p + 1);
                    x.input = x.history[p + 1].clone();
                    x.cursor = x.input.chars().count();
                }
                _ => {
                    x.history_pos = None;
                    x.input.clear();
                    x.cursor = 0;
                }
            },
            Action::OutputUp => x.output_scroll = (x.output_scroll + 5).min(x.output.len()),
            Action::OutputDown => x.output_scroll = x.output_scroll.saturating_sub(5),
            Action::Complete => complete(x),
            Action::Check => return self.start_check(),
            Action::Submit => return self.submit(),
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn submit(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        let line = x.input.trim().to_string();
        x.input.clear();
        x.cursor = 0;
        x.history_pos = None;
        if line.is_empty() {
            return Vec::new();
        }
        if x.history.last() != Some(&line) {
            x.history.push(line.clone());
        }
        x.output.push((OutputKind::Command, format!("$ {line}")));
        x.output_scroll = 0;
        let remember = Effect::Remember(line.clone());
        let word = line.split_whitespace().next().unwrap_or_default();
        match word {
            "check" => return self.start_check(),
            "hint" => return self.hint(),
            "reset" => {
                self.confirm = Some(Confirm::Reset);
                self.message = "Reset the workspace and the backend state to the setup? y/n".into();
                return Vec::new();
            }
            "shell" if x.ready => return vec![Effect::Shell],
            "edit" => {
                let file = line[4..].trim().to_string();
                if file.is_empty() {
                    x.output
                        .push((OutputKind::Stderr, "edit FILE (a workspace file)".into()));
                    return Vec::new();
                }
                return vec![Effect::Edit(file)];
            }
            "clear" => {
                x.output.clear();
                return Vec::new();
            }
            _ => {}
        }
        if !x.ready || x.busy {
            x.output
                .push((OutputKind::Stderr, "Busy: wait for the running job.".into()));
            return Vec::new();
        }
        let line = match crate::lab::vars::substitute(&line, &x.vars) {
            Ok(l) => l,
            Err(e) => {
                x.output.push((OutputKind::Stderr, e));
                return Vec::new();
            }
        };
        x.busy = true;
        vec![remember, Effect::Run(line)]
    }

    pub(super) fn type_char(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        if let KeyCode::Char(c) = key.code
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            let at = byte_index(&x.input, x.cursor);
            x.input.insert(at, c);
            x.cursor += 1;
        }
        Vec::new()
    }
}

/// A word for readline's Alt-B and Alt-F: letters and digits, so they stop inside JSON.
fn is_alphanumeric(c: char) -> bool {
    c.is_alphanumeric()
}

/// A word for Ctrl-W (unix-word-rubout): anything but white space, as in bash.
fn is_not_space(c: char) -> bool {
    !c.is_whitespace()
}

/// The cursor position at the start of the word before `cursor`.
fn word_left(input: &str, cursor: usize, is_word: fn(char) -> bool) -> usize {
    let chars: Vec<char> = input.chars().collect();
    let mut i = cursor.min(chars.len());
    while i > 0 && !is_word(chars[i - 1]) {
        i -= 1;
    }
    while i > 0 && is_word(chars[i - 1]) {
        i -= 1;
    }
    i
}

/// The cursor position at the end of the word after `cursor` (readline's Alt-F).
fn word_right(input: &str, cursor: usize) -> usize {
    let chars: Vec<char> = input.chars().collect();
    let mut i = cursor.min(chars.len());
    while i < chars.len() && !is_alphanumeric(chars[i]) {
        i += 1;
    }
    while i < chars.len() && is_alphanumeric(chars[i]) {
        i += 1;
    }
    i
}
