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

mod console_input;
mod drills;
mod exercise;
mod lesson;
mod map;

pub use self::drills::{DrillState, EXAM_SIZES, MenuEntry};

use self::console_input::{byte_index, complete};
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
use crate::study::showing;
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
            quit: false,
        };
        if let Some(notice) = app.progress.notice.take() {
            app.message = notice;
        }
        app.render_lesson();
        app
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
}
