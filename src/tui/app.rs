//! The TUI's state and its one transition function, in The Elm Architecture: `update(&mut App,
//! Msg) -> Vec<Effect>` reads a message (a key, a resize, a result from the backend worker),
//! changes the state and returns effects as data (run a command, run the checks, save progress,
//! open a shell). It does no I/O, so key-sequence tests drive it without a terminal or AWS.

use std::collections::BTreeMap;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;

use super::keymap::{self, Action, Context};
use super::markdown;
use super::theme::Theme;
use crate::console::Outcome;
use crate::lab::grader::{CheckResult, Status};
use crate::lab::progress::Progress;
use crate::pack::Pack;

/// The screen shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Lessons and exercises.
    Map,
    /// A lesson.
    Lesson,
    /// An exercise.
    Exercise,
}

/// A row of the course map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A lesson, by index.
    Lesson(usize),
    /// An exercise, by id.
    Exercise(String),
}

/// The kind of a console output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A command the learner ran.
    Command,
    /// Its standard output.
    Stdout,
    /// Its standard error.
    Stderr,
    /// A note from keylab.
    Info,
}

/// What a confirmation prompt is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Reset the exercise.
    Reset,
}

/// The exercise screen's state.
#[derive(Debug, Clone, Default)]
pub struct ExerciseState {
    /// The exercise id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The instructions (with the learner's names once the backend is ready).
    pub instructions: String,
    /// The instructions rendered for the theme.
    pub instructions_lines: Vec<Line<'static>>,
    /// The backend is ready.
    pub ready: bool,
    /// Typing in the console.
    pub typing: bool,
    /// The command line.
    pub input: String,
    /// The cursor, in characters.
    pub cursor: usize,
    /// Commands run, oldest first.
    pub history: Vec<String>,
    /// Position while walking the history.
    pub history_pos: Option<usize>,
    /// Console output.
    pub output: Vec<(OutputKind, String)>,
    /// Lines scrolled back from the end of the output.
    pub output_scroll: usize,
    /// A command or check is running.
    pub busy: bool,
    /// The last check's results.
    pub results: Option<Vec<CheckResult>>,
    /// Show the trace of the first failed check.
    pub show_trace: bool,
    /// Hints revealed.
    pub hints_shown: usize,
    /// The hint ladder.
    pub hints: Vec<String>,
    /// Shown after a pass.
    pub explanation: String,
    /// Instructions scroll.
    pub scroll: u16,
    /// The exercise's variables, for `{{var}}` in typed commands.
    pub vars: BTreeMap<String, String>,
    /// Workspace files, for editing and completion.
    pub files: Vec<String>,
}

impl ExerciseState {
    /// Whether the last check passed.
    pub fn passed(&self) -> bool {
        self.results.as_ref().is_some_and(|r| {
            r.iter().any(|c| c.status == Status::Pass) && r.iter().all(|c| c.status.is_ok())
        })
    }
}

/// Everything the TUI shows.
#[derive(Debug, Clone)]
pub struct App {
    /// The content.
    pub pack: Arc<Pack>,
    /// The learner's progress.
    pub progress: Progress,
    /// The screen.
    pub screen: Screen,
    /// The theme.
    pub theme: Theme,
    /// The terminal size.
    pub size: (u16, u16),
    /// Course map selection.
    pub selected: usize,
    /// Course map filter.
    pub filter: String,
    /// Typing the filter.
    pub filtering: bool,
    /// The lesson shown.
    pub lesson: usize,
    /// Lesson scroll.
    pub lesson_scroll: u16,
    /// The lesson rendered for the theme (cached here; drawing only reads it).
    pub lesson_lines: Vec<Line<'static>>,
    /// The exercise, once opened.
    pub exercise: Option<ExerciseState>,
    /// Help overlay shown.
    pub help: bool,
    /// Mouse capture on.
    pub mouse: bool,
    /// A pending confirmation.
    pub confirm: Option<Confirm>,
    /// A one-line message for the status bar.
    pub message: String,
    /// The backend and its endpoint, for the status bar.
    pub backend: String,
    /// The active lab identity.
    pub profile: String,
    /// Leave.
    pub quit: bool,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize(u16, u16),
    /// The exercise's backend is ready.
    ExerciseReady {
        /// The exercise.
        id: String,
        /// The instructions with names filled in.
        instructions: String,
        /// The explanation with names filled in.
        explanation: String,
        /// The variables.
        vars: BTreeMap<String, String>,
        /// `engine http://…`.
        backend: String,
        /// The workspace's files.
        files: Vec<String>,
    },
    /// The exercise could not be opened.
    ExerciseFailed(String),
    /// A command finished.
    CommandDone(Outcome, Vec<String>),
    /// The checks finished (with the time, RFC 3339).
    CheckDone(Vec<CheckResult>, String),
    /// The learner's shell or editor returned.
    Returned,
}

/// Something for the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start the exercise's backend (setting it up the first time).
    OpenExercise(String),
    /// Run a console command.
    Run(String),
    /// Run the checks.
    Check,
    /// Reset the exercise.
    Reset,
    /// Save the progress.
    SaveProgress,
    /// Suspend and start the learner's shell.
    Shell,
    /// Suspend and edit a workspace file.
    Edit(String),
    /// Turn mouse capture on or off.
    SetMouse(bool),
    /// Stop the exercise's backend.
    CloseExercise,
    /// Leave.
    Quit,
}

/// The words the console completes first.
const TOP_WORDS: &[&str] = &[
    "aws",
    "cat",
    "check",
    "crypto",
    "edit",
    "endpoints",
    "help",
    "hint",
    "ls",
    "mask",
    "profiles",
    "rm",
    "shell",
];

impl App {
    /// A new app on the course map.
    pub fn new(pack: Arc<Pack>, progress: Progress, theme: Theme, size: (u16, u16)) -> App {
        let mut app = App {
            pack,
            progress,
            screen: Screen::Map,
            theme,
            size,
            selected: 0,
            filter: String::new(),
            filtering: false,
            lesson: 0,
            lesson_scroll: 0,
            lesson_lines: Vec::new(),
            exercise: None,
            help: false,
            mouse: false,
            confirm: None,
            message: String::new(),
            backend: "engine (starts with an exercise)".into(),
            profile: "owner-admin".into(),
            quit: false,
        };
        app.render_lesson();
        app
    }

    /// The course map's rows after the filter.
    pub fn rows(&self) -> Vec<Row> {
        let filter = self.filter.to_lowercase();
        let mut rows = Vec::new();
        for (i, lesson) in self.pack.lessons.iter().enumerate() {
            let exercises: Vec<&String> = lesson
                .exercises
                .iter()
                .filter(|id| {
                    filter.is_empty()
                        || id.contains(&filter)
                        || self
                            .pack
                            .exercise(id)
                            .is_some_and(|x| x.spec.title.to_lowercase().contains(&filter))
                })
                .collect();
            let lesson_matches = filter.is_empty() || lesson.title.to_lowercase().contains(&filter);
            if lesson_matches || !exercises.is_empty() {
                rows.push(Row::Lesson(i));
                rows.extend(exercises.into_iter().map(|id| Row::Exercise(id.clone())));
            }
        }
        rows
    }

    /// The mark of an exercise: done, started or new.
    pub fn mark(&self, id: &str) -> (&'static str, &'static str) {
        match self.progress.exercises.get(id) {
            Some(p) if p.passed_at.is_some() => ("✓", "done"),
            Some(p) if p.attempts > 0 || p.hints_used > 0 => ("~", "in progress"),
            _ => (" ", "not started"),
        }
    }

    /// The context keys resolve in.
    pub fn context(&self) -> Context {
        if self.help {
            return Context::Help;
        }
        match self.screen {
            Screen::Map if self.filtering => Context::Filter,
            Screen::Map => Context::Map,
            Screen::Lesson => Context::Lesson,
            Screen::Exercise if self.exercise.as_ref().is_some_and(|x| x.typing) => {
                Context::Console
            }
            Screen::Exercise => Context::Exercise,
        }
    }

    fn render_lesson(&mut self) {
        let theme = self.theme;
        if let Some(x) = self.exercise.as_mut() {
            x.instructions_lines = markdown::render(&x.instructions, theme);
        }
        self.lesson_lines = self
            .pack
            .lessons
            .get(self.lesson)
            .map(|l| markdown::render(&l.body, self.theme))
            .unwrap_or_default();
    }

    fn page(&self) -> u16 {
        self.size.1.saturating_sub(4).max(1)
    }

    fn open_lesson(&mut self, index: usize) {
        self.lesson = index;
        self.lesson_scroll = 0;
        self.screen = Screen::Lesson;
        self.render_lesson();
    }

    fn open_exercise(&mut self, id: &str) -> Vec<Effect> {
        let Some(x) = self.pack.exercise(id) else {
            return Vec::new();
        };
        if let Some(current) = &self.exercise
            && current.id == id
        {
            self.screen = Screen::Exercise;
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
            instructions_lines: markdown::render(&x.readme, self.theme),
            typing: true,
            hints: x.spec.hints.clone(),
            hints_shown,
            explanation: x.spec.explanation.clone(),
            busy: true,
            output: vec![(OutputKind::Info, "Setting up the exercise…".into())],
            ..Default::default()
        });
        if let Some(i) = self.pack.lessons.iter().position(|l| l.id == x.spec.lesson) {
            self.lesson = i;
        }
        self.profile = x.spec.profile.clone();
        self.screen = Screen::Exercise;
        vec![Effect::CloseExercise, Effect::OpenExercise(id.to_string())]
    }

    /// Handles one message.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Msg::ExerciseReady {
                id,
                instructions,
                explanation,
                vars,
                backend,
                files,
            } => {
                self.backend = backend;
                let theme = self.theme;
                if let Some(x) = self.exercise.as_mut().filter(|x| x.id == id) {
                    x.instructions_lines = markdown::render(&instructions, theme);
                    x.instructions = instructions;
                    x.explanation = explanation;
                    x.vars = vars;
                    x.files = files;
                    x.ready = true;
                    x.busy = false;
                    x.output.push((
                        OutputKind::Info,
                        "Ready. Type AWS CLI commands (help lists them); Esc leaves the console, c checks.".into(),
                    ));
                }
                Vec::new()
            }
            Msg::ExerciseFailed(error) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.busy = false;
                    x.output.push((OutputKind::Stderr, error.clone()));
                }
                self.message = error;
                Vec::new()
            }
            Msg::CommandDone(outcome, files) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.busy = false;
                    x.files = files;
                    x.output_scroll = 0;
                    for line in outcome.stdout.lines() {
                        x.output.push((OutputKind::Stdout, line.to_string()));
                    }
                    for line in outcome.stderr.lines() {
                        x.output.push((OutputKind::Stderr, line.to_string()));
                    }
                }
                Vec::new()
            }
            Msg::CheckDone(results, at) => self.check_done(results, at),
            Msg::Returned => {
                self.message = "Back in keylab; checking…".into();
                self.start_check()
            }
        }
    }

    fn check_done(&mut self, results: Vec<CheckResult>, at: String) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        x.busy = false;
        x.show_trace = false;
        let passed = results.iter().filter(|r| r.status.is_ok()).count();
        let all = !results.is_empty() && passed == results.len();
        x.output.push((
            OutputKind::Info,
            format!(
                "check: {passed} of {} passed{}",
                results.len(),
                if all { " — PASS" } else { "" }
            ),
        ));
        x.results = Some(results);
        let id = x.id.clone();
        let entry = self.progress.entry(&id);
        entry.attempts += 1;
        entry.last_status = Some(if all { "pass" } else { "fail" }.into());
        if all && entry.passed_at.is_none() {
            entry.passed_at = Some(at);
        }
        self.message = if all {
            "Passed. n: next exercise.".into()
        } else {
            "Not yet: read the failed checks (t shows a policy trace), H for a hint.".into()
        };
        vec![Effect::SaveProgress]
    }

    fn start_check(&mut self) -> Vec<Effect> {
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

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let name = keymap::key_name(&key);
        if let Some(confirm) = self.confirm {
            self.confirm = None;
            if name == "y" {
                return match confirm {
                    Confirm::Reset => self.reset(),
                };
            }
            self.message = "Cancelled.".into();
            return Vec::new();
        }
        let context = self.context();
        let action = keymap::resolve(context, &name);
        match (context, action) {
            (Context::Console, None) => self.type_char(key),
            (Context::Filter, None) => {
                if let KeyCode::Char(c) = key.code
                    && !key.modifiers.contains(KeyModifiers::CONTROL)
                {
                    self.filter.push(c);
                    self.selected = 0;
                }
                Vec::new()
            }
            (_, Some(action)) => self.act(context, action),
            (_, None) => Vec::new(),
        }
    }

    fn type_char(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    fn reset(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        x.busy = true;
        x.ready = false;
        x.results = None;
        x.output.push((
            OutputKind::Info,
            "Resetting the workspace and the backend…".into(),
        ));
        vec![Effect::Reset]
    }

    fn act(&mut self, context: Context, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Effect::SaveProgress, Effect::Quit];
            }
            Action::Help => {
                self.help = !self.help;
                return Vec::new();
            }
            Action::Mouse => {
                self.mouse = !self.mouse;
                self.message = format!(
                    "Mouse capture {}.",
                    if self.mouse {
                        "on (hold Shift to select text)"
                    } else {
                        "off: select text to copy"
                    }
                );
                return vec![Effect::SetMouse(self.mouse)];
            }
            Action::Theme => {
                self.theme = self.theme.next();
                self.render_lesson();
                self.message = format!("Theme: {}.", self.theme.name());
                return Vec::new();
            }
            _ => {}
        }
        match context {
            Context::Map | Context::Filter => self.act_map(action),
            Context::Lesson => self.act_lesson(action),
            Context::Exercise => self.act_exercise(action),
            Context::Console => self.act_console(action),
            Context::Global | Context::Help => Vec::new(),
        }
    }

    fn act_map(&mut self, action: Action) -> Vec<Effect> {
        let rows = self.rows();
        let last = rows.len().saturating_sub(1);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = last,
            Action::Filter => {
                self.filtering = true;
                self.filter.clear();
            }
            Action::Back => self.filtering = false,
            Action::Backspace => {
                self.filter.pop();
                self.selected = 0;
            }
            Action::Open => match rows.get(self.selected) {
                Some(Row::Lesson(i)) => self.open_lesson(*i),
                Some(Row::Exercise(id)) => {
                    let id = id.clone();
                    return self.open_exercise(&id);
                }
                None => {}
            },
            _ => {}
        }
        Vec::new()
    }

    fn act_lesson(&mut self, action: Action) -> Vec<Effect> {
        let max = (self.lesson_lines.len() as u16).saturating_sub(1);
        let page = self.page();
        match action {
            Action::Up => self.lesson_scroll = self.lesson_scroll.saturating_sub(1),
            Action::Down => self.lesson_scroll = (self.lesson_scroll + 1).min(max),
            Action::PageUp => self.lesson_scroll = self.lesson_scroll.saturating_sub(page),
            Action::PageDown => self.lesson_scroll = (self.lesson_scroll + page).min(max),
            Action::Top => self.lesson_scroll = 0,
            Action::Bottom => self.lesson_scroll = max,
            Action::Next if self.lesson + 1 < self.pack.lessons.len() => {
                self.open_lesson(self.lesson + 1)
            }
            Action::Previous if self.lesson > 0 => self.open_lesson(self.lesson - 1),
            Action::Back => self.screen = Screen::Map,
            Action::ToExercise => {
                let first = self.pack.lessons[self.lesson].exercises.first().cloned();
                match first {
                    Some(id) => return self.open_exercise(&id),
                    None => self.message = "This lesson has no exercise.".into(),
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn act_exercise(&mut self, action: Action) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            self.screen = Screen::Map;
            return Vec::new();
        };
        match action {
            Action::FocusConsole => x.typing = true,
            Action::Up => x.scroll = x.scroll.saturating_sub(1),
            Action::Down => x.scroll = x.scroll.saturating_add(1),
            Action::OutputUp => x.output_scroll = (x.output_scroll + 5).min(x.output.len()),
            Action::OutputDown => x.output_scroll = x.output_scroll.saturating_sub(5),
            Action::Check => return self.start_check(),
            Action::Hint => return self.hint(),
            Action::Trace => x.show_trace = !x.show_trace,
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
            Action::Back => self.screen = Screen::Lesson,
            _ => {}
        }
        Vec::new()
    }

    fn hint(&mut self) -> Vec<Effect> {
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        if x.hints_shown >= x.hints.len() {
            self.message = "That was the last hint.".into();
            return Vec::new();
        }
        x.hints_shown += 1;
        let shown = x.hints_shown as u32;
        let id = x.id.clone();
        self.progress.entry(&id).hints_used = shown;
        vec![Effect::SaveProgress]
    }

    fn next_exercise(&mut self) -> Vec<Effect> {
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

    fn act_console(&mut self, action: Action) -> Vec<Effect> {
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

    fn submit(&mut self) -> Vec<Effect> {
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
        vec![Effect::Run(line)]
    }
}

fn byte_index(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

/// Completes the last word of the command line from the commands, operations, options and
/// workspace files; several candidates are listed in the output.
fn complete(x: &mut ExerciseState) {
    let words: Vec<&str> = x.input.split_whitespace().collect();
    let ends_with_space = x.input.ends_with(' ');
    let (done, partial): (Vec<&str>, &str) = if ends_with_space || words.is_empty() {
        (words.clone(), "")
    } else {
        (words[..words.len() - 1].to_vec(), words[words.len() - 1])
    };
    let files: Vec<String> = x.files.clone();
    let candidates: Vec<String> = match done.as_slice() {
        [] => TOP_WORDS.iter().map(|s| s.to_string()).collect(),
        ["aws"] => crate::console::SERVICES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["aws", "kms"] => crate::console::kms::operations()
            .map(str::to_string)
            .collect(),
        ["aws", "s3api"] => crate::console::s3api::operations()
            .map(str::to_string)
            .collect(),
        ["aws", "s3"] => crate::console::s3::COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["aws", "kms", op, ..] if partial.starts_with("--") => crate::console::kms::options(op)
            .map(|o| format!("--{o}"))
            .chain(["--profile", "--output", "--query"].map(String::from))
            .collect(),
        ["crypto"] => crate::console::crypto::COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["mask"] => crate::console::mask::COMMANDS
            .iter()
            .map(|s| s.to_string())
            .chain(files.iter().cloned())
            .collect(),
        _ if partial.starts_with("fileb://") || partial.starts_with("file://") => {
            let prefix = if partial.starts_with("fileb://") {
                "fileb://"
            } else {
                "file://"
            };
            files.iter().map(|f| format!("{prefix}{f}")).collect()
        }
        _ => files,
    };
    let matching: Vec<&String> = candidates
        .iter()
        .filter(|c| c.starts_with(partial))
        .collect();
    if matching.is_empty() {
        return;
    }
    let common = matching.iter().skip(1).fold(matching[0].clone(), |acc, c| {
        acc.chars()
            .zip(c.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let mut line = done.join(" ");
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(&common);
    if matching.len() == 1 {
        line.push(' ');
    } else {
        let list: Vec<&str> = matching.iter().map(|s| s.as_str()).collect();
        x.output.push((OutputKind::Info, list.join("  ")));
    }
    x.input = line;
    x.cursor = x.input.chars().count();
}
