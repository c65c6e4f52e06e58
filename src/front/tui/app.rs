//! The TUI's state and its one transition function, in The Elm Architecture: `update(&mut App,
//! Msg) -> Vec<Effect>` reads a message (a key, a resize, a clock tick, a result from the
//! backend worker), changes the state and returns effects as data (run a command, run the
//! checks, save progress, open a shell). It does no I/O and never reads the clock (the runtime
//! sends [`Msg::Tick`]), so key-sequence tests drive it without a terminal, AWS or real time.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;

use super::keymap::{self, Action, Context};
use super::markdown;
use super::theme::Theme;
use crate::front::worker::{Ready, WorkerEvent};
use crate::lab::course;
use crate::lab::grader::{CheckResult, Evidence, Status};
use crate::lab::progress::Progress;
use crate::pack::Pack;
use crate::study::drill::{self, Pick, ROUND_SIZE};
use crate::study::exam::{self, ExamConfig, Score};
use crate::study::srs::{answer_rating, question_card};

/// The screen shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Lessons and exercises.
    Map,
    /// A lesson.
    Lesson,
    /// An exercise.
    Exercise,
    /// The choice of drill round or mock exam.
    DrillMenu,
    /// A drill round or mock exam.
    Drill,
    /// Readiness by DEA-C01 item.
    Readiness,
}

/// An entry of the drill menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    /// A drill round.
    Round(Pick),
    /// The timed mock exam.
    Exam,
}

/// A drill round or mock exam in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillState {
    /// What it is, for the title.
    pub title: String,
    /// For a mock exam: when time is up.
    pub deadline: Option<DateTime<Utc>>,
    /// Question indexes into the pack.
    pub questions: Vec<usize>,
    /// The question shown.
    pub current: usize,
    /// The option the cursor is on.
    pub cursor: usize,
    /// Options picked for each question.
    pub picked: Vec<Vec<usize>>,
    /// Answers submitted (in a drill, each is shown with the reasons at once).
    pub submitted: Vec<bool>,
    /// Scroll of the question pane.
    pub scroll: u16,
    /// Set when the round or exam is over.
    pub score: Option<Score>,
}

impl DrillState {
    /// Whether this is the timed mock exam.
    pub fn is_exam(&self) -> bool {
        self.deadline.is_some()
    }

    /// Whether the current question's answer and reasons are shown.
    pub fn is_revealed(&self) -> bool {
        !self.is_exam() && self.submitted.get(self.current).copied().unwrap_or(false)
    }
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
    /// Leave the mock exam unfinished.
    LeaveExam,
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
    /// The time, from the last [`Msg::Tick`].
    pub now: DateTime<Utc>,
    /// Drill menu selection.
    pub menu: usize,
    /// The drill round or mock exam.
    pub drill: Option<DrillState>,
    /// The mock exam's size and time.
    pub exam: ExamConfig,
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
    /// The backend worker reported.
    Worker(WorkerEvent),
    /// The learner's shell or editor returned.
    Returned,
    /// The time now (sent by the runtime before each batch of messages).
    Tick(DateTime<Utc>),
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
            now: DateTime::UNIX_EPOCH,
            menu: 0,
            drill: None,
            exam: ExamConfig::new(None, None).expect("the default exam is valid"),
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

    /// The mark and words of an exercise: due for review, done, started or new.
    pub fn mark(&self, id: &str) -> (&'static str, &'static str) {
        let state = course::state_of(&self.progress, id, self.now);
        (state.mark(), state.word())
    }

    /// The context keys resolve in.
    pub fn context(&self) -> Context {
        if self.help {
            return Context::Help;
        }
        self.screen_context()
    }

    /// The context of the screen, under the help overlay if it is open.
    pub fn screen_context(&self) -> Context {
        match self.screen {
            Screen::Map if self.filtering => Context::Filter,
            Screen::Map => Context::Map,
            Screen::Lesson => Context::Lesson,
            Screen::Exercise if self.exercise.as_ref().is_some_and(|x| x.typing) => {
                Context::Console
            }
            Screen::Exercise => Context::Exercise,
            Screen::DrillMenu => Context::DrillMenu,
            Screen::Drill => Context::Drill,
            Screen::Readiness => Context::Readiness,
        }
    }

    /// The drill menu: due, mixed, each lesson, each item, the mock exam.
    pub fn menu_entries(&self) -> Vec<MenuEntry> {
        let mut entries = vec![MenuEntry::Round(Pick::Due), MenuEntry::Round(Pick::Mixed)];
        entries.extend(
            self.pack
                .lessons
                .iter()
                .map(|l| MenuEntry::Round(Pick::Lesson(l.id.clone()))),
        );
        entries.extend(
            crate::pack::DEA_ITEMS
                .iter()
                .map(|i| MenuEntry::Round(Pick::Item(i.to_string()))),
        );
        entries.push(MenuEntry::Exam);
        entries
    }

    /// The questions a menu entry would draw from, and how many of them are due now.
    pub fn entry_counts(&self, entry: &MenuEntry) -> (usize, usize) {
        let deck = &self.progress.deck;
        let pick = match entry {
            MenuEntry::Round(pick) => pick,
            MenuEntry::Exam => &Pick::Mixed,
        };
        let all: Vec<_> = self
            .pack
            .questions
            .iter()
            .filter(|q| pick.matches(q, deck, self.now))
            .collect();
        let due = all
            .iter()
            .filter(|q| deck.is_due(&question_card(&q.id), self.now))
            .count();
        (all.len(), due)
    }

    /// Exercises passed and due for review now.
    pub fn exercises_due(&self) -> Vec<String> {
        self.pack
            .exercises
            .iter()
            .filter(|x| self.mark(&x.id).1 == "due for review")
            .map(|x| x.id.clone())
            .collect()
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

    /// Handles one message.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Msg::Worker(WorkerEvent::ExerciseReady(Ready {
                id,
                instructions,
                explanation,
                vars,
                backend,
                files,
            })) => {
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
            Msg::Worker(WorkerEvent::ExerciseFailed(error)) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.busy = false;
                    x.output.push((OutputKind::Stderr, error.clone()));
                }
                self.message = error;
                Vec::new()
            }
            Msg::Worker(WorkerEvent::CommandDone { outcome, files }) => {
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
            Msg::Worker(WorkerEvent::CheckDone {
                results,
                at,
                evidence,
            }) => self.check_done(results, at, evidence),
            Msg::Tick(now) => {
                self.now = now;
                let over = self
                    .drill
                    .as_ref()
                    .is_some_and(|d| d.score.is_none() && d.deadline.is_some_and(|t| now >= t));
                if over {
                    self.message = "Time is up: the exam is handed in.".into();
                    return self.finish_drill();
                }
                Vec::new()
            }
            Msg::Returned => {
                self.message = "Back in keylab; checking…".into();
                self.start_check()
            }
        }
    }

    fn check_done(
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
        x.show_trace = false;
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
        self.message = if graded.is_pass() {
            format!("Passed{review}. n: next exercise.")
        } else {
            format!(
                "Not yet{review}: read the failed checks (t shows a policy trace), H for a hint."
            )
        };
        x.results = Some(graded.results);
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
                    Confirm::LeaveExam => {
                        self.drill = None;
                        self.screen = Screen::DrillMenu;
                        self.message = "Exam left unscored.".into();
                        Vec::new()
                    }
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
        let id = x.id.clone();
        self.progress.record_reset(&id, self.now);
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
            Context::DrillMenu => self.act_menu(action),
            Context::Drill => self.act_drill(action),
            Context::Readiness => {
                if action == Action::Back {
                    self.screen = Screen::Map;
                }
                Vec::new()
            }
            Context::Global | Context::Help | Context::Class => Vec::new(),
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
            Action::Drill => {
                self.menu = 0;
                self.screen = Screen::DrillMenu;
            }
            Action::Readiness => self.screen = Screen::Readiness,
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
        let total = x.hints.len();
        let id = x.id.clone();
        let shown = self.progress.record_hint(&id, total, self.now);
        if let Some(x) = self.exercise.as_mut() {
            x.hints_shown = shown as usize;
        }
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

impl App {
    fn act_menu(&mut self, action: Action) -> Vec<Effect> {
        let entries = self.menu_entries();
        let last = entries.len().saturating_sub(1);
        match action {
            Action::Up => self.menu = self.menu.saturating_sub(1),
            Action::Down => self.menu = (self.menu + 1).min(last),
            Action::Top => self.menu = 0,
            Action::Bottom => self.menu = last,
            Action::Back => self.screen = Screen::Map,
            Action::Readiness => self.screen = Screen::Readiness,
            Action::Open => {
                if let Some(entry) = entries.get(self.menu) {
                    self.start_drill(entry.clone());
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Starts a drill round or the mock exam.
    pub fn start_drill(&mut self, entry: MenuEntry) {
        let seed = self.progress.round_seed();
        let (title, questions, deadline) = match &entry {
            MenuEntry::Exam => (
                format!(
                    "Mock exam: {} questions, {} minutes",
                    self.exam.questions, self.exam.minutes
                ),
                exam::pick(&self.pack, self.exam.questions, seed),
                Some(self.now + Duration::minutes(i64::from(self.exam.minutes))),
            ),
            MenuEntry::Round(pick) => (
                format!("Drill: {}", pick.describe(&self.pack)),
                drill::questions(
                    &self.pack,
                    &self.progress.deck,
                    pick,
                    self.now,
                    ROUND_SIZE,
                    seed,
                ),
                None,
            ),
        };
        if questions.is_empty() {
            let exercises = self.exercises_due();
            self.message = if entry != MenuEntry::Round(Pick::Due) {
                "The pack has no questions here.".into()
            } else if exercises.is_empty() {
                "Nothing is due for review now: pick a module or an item.".into()
            } else {
                format!(
                    "No question is due; exercises due for review: {}.",
                    exercises.join(", ")
                )
            };
            return;
        }
        let n = questions.len();
        self.drill = Some(DrillState {
            title,
            deadline,
            questions,
            current: 0,
            cursor: 0,
            picked: vec![Vec::new(); n],
            submitted: vec![false; n],
            scroll: 0,
            score: None,
        });
        self.message.clear();
        self.screen = Screen::Drill;
    }

    fn act_drill(&mut self, action: Action) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            self.screen = Screen::DrillMenu;
            return Vec::new();
        };
        if d.score.is_some() {
            match action {
                Action::PageUp | Action::Up => d.scroll = d.scroll.saturating_sub(5),
                Action::PageDown | Action::Down => d.scroll = d.scroll.saturating_add(5),
                Action::Back | Action::Submit | Action::Next => {
                    self.drill = None;
                    self.screen = Screen::DrillMenu;
                }
                _ => {}
            }
            return Vec::new();
        }
        let q = &self.pack.questions[d.questions[d.current]];
        let options = q.options.len();
        let locked = d.is_revealed();
        match action {
            Action::Pick(i) if !locked && (i as usize) < options => {
                d.cursor = i as usize;
                toggle(&mut d.picked[d.current], i as usize, q.choose);
            }
            Action::Toggle if !locked => toggle(&mut d.picked[d.current], d.cursor, q.choose),
            Action::Up => d.cursor = d.cursor.saturating_sub(1),
            Action::Down => d.cursor = (d.cursor + 1).min(options.saturating_sub(1)),
            Action::PageUp => d.scroll = d.scroll.saturating_sub(5),
            Action::PageDown => d.scroll = d.scroll.saturating_add(5),
            Action::Submit if locked => return self.next_question(),
            Action::Submit => return self.submit_answer(),
            Action::Next if !d.is_exam() && !locked => {
                self.message = "Answer first (Enter), or Esc to leave the round.".into();
            }
            Action::Next => return self.next_question(),
            Action::Previous if d.is_exam() && d.current > 0 => {
                d.current -= 1;
                d.cursor = 0;
                d.scroll = 0;
            }
            Action::HandIn if d.is_exam() => return self.finish_drill(),
            Action::Back if d.is_exam() => {
                self.confirm = Some(Confirm::LeaveExam);
                self.message = "Leave the exam without a score? y/n".into();
            }
            Action::Back => {
                let answered = d.submitted.iter().any(|s| *s);
                self.drill = None;
                self.screen = Screen::DrillMenu;
                if answered {
                    self.message = "Round left; your answers so far are saved.".into();
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn submit_answer(&mut self) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            return Vec::new();
        };
        let q = &self.pack.questions[d.questions[d.current]];
        let picked = &d.picked[d.current];
        if picked.len() != q.choose {
            self.message = format!("Choose {} (picked {}).", q.choose, picked.len());
            return Vec::new();
        }
        d.submitted[d.current] = true;
        if d.is_exam() {
            return self.next_question();
        }
        let right = q.is_right(picked);
        self.progress.deck.review(
            &question_card(&q.id),
            answer_rating(right),
            self.now,
            "drill",
        );
        self.message = if right {
            "Right. Enter: next question.".into()
        } else {
            "Not right: read why for each option. Enter: next question.".into()
        };
        vec![Effect::SaveProgress]
    }

    fn next_question(&mut self) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            return Vec::new();
        };
        self.message.clear();
        if d.current + 1 < d.questions.len() {
            d.current += 1;
            d.cursor = 0;
            d.scroll = 0;
            return Vec::new();
        }
        if d.is_exam() && d.submitted.iter().any(|s| !s) {
            self.message =
                "Last question. F hands the exam in (unanswered count as wrong), p goes back."
                    .into();
            return Vec::new();
        }
        self.finish_drill()
    }

    /// Ends the round or exam: scores it and, for an exam, reviews every question.
    fn finish_drill(&mut self) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            return Vec::new();
        };
        let answers: Vec<(usize, Option<Vec<usize>>)> = d
            .questions
            .iter()
            .enumerate()
            .filter(|(i, _)| d.is_exam() || d.submitted[*i])
            .map(|(i, &q)| (q, d.submitted[i].then(|| d.picked[i].clone())))
            .collect();
        let score = exam::score(&self.pack, &answers);
        if d.is_exam() {
            exam::review(&self.pack, &mut self.progress.deck, &answers, self.now);
        }
        d.score = Some(score);
        d.scroll = 0;
        vec![Effect::SaveProgress]
    }
}

/// Picks or unpicks an option; a single-answer question keeps only the last pick.
fn toggle(picked: &mut Vec<usize>, option: usize, choose: usize) {
    if let Some(at) = picked.iter().position(|&p| p == option) {
        picked.remove(at);
        return;
    }
    if choose == 1 {
        picked.clear();
    }
    picked.push(option);
    picked.sort_unstable();
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
