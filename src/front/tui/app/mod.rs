//! The TUI's state and its one transition function, in The Elm Architecture: `update(&mut App,
//! Msg) -> Vec<Effect>` reads a message (a key, a resize, a clock tick, a result from the
//! backend worker), changes the state and returns effects as data (run a command, run the
//! checks, save progress, open a shell). It does no I/O and never reads the clock (the runtime
//! sends [`Msg::Tick`]), so key-sequence tests drive it without a terminal, AWS or real time.
//!
//! Focus and navigation: keys go to exactly one place, named by [`App::context`]. While the
//! console has focus every printable key is typed (`?` too; F1 is help there), and so is every
//! key of a filter or a find; single-letter actions work only where nothing is being typed.
//! Opening a lesson or an exercise remembers where it was opened from, and Esc goes back there
//! (an exercise opened from the course map goes back to the map). After the learner's shell or
//! editor returns, the console has focus. The checks, traces, hints and explanation open full
//! screen ([`Context::Details`]); a pass opens them with the explanation. Every scroll is counted
//! in wrapped screen rows for the current size (see [`super::layout`]), so the end of every
//! text can be reached. The status bar's message belongs to the screen it was set on.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::Line;

mod console_input;
mod details;
mod drills;
mod exercise;
mod lesson;
mod map;
mod navigation;

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
    /// Hints revealed.
    pub hints_shown: usize,
    /// The hint ladder.
    pub hints: Vec<String>,
    /// Shown after a pass.
    pub explanation: String,
    /// Instructions scroll, in wrapped rows.
    pub scroll: u16,
    /// The checks, traces, hints and explanation, rendered (shown full screen and in the
    /// checks pane).
    pub details_lines: Vec<Line<'static>>,
    /// The full-screen details, open at this scroll (wrapped rows).
    pub details: Option<u16>,
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
    /// Lesson scroll, in wrapped rows.
    pub lesson_scroll: u16,
    /// The text being found in the lesson (`/`), while typing it.
    pub finding: Option<String>,
    /// The screens to go back to with Esc, most recent last.
    pub back: Vec<Screen>,
    /// The last text found in the lesson, offered again by `/`.
    pub last_find: String,
    /// The lesson rendered for the theme (cached here; drawing only reads it).
    pub lesson_lines: Vec<Line<'static>>,
    /// The exercise, once opened.
    pub exercise: Option<ExerciseState>,
    /// Help overlay shown.
    pub help: bool,
    /// The first row of the help overlay on screen.
    pub help_scroll: u16,
    /// Mouse capture on.
    pub mouse: bool,
    /// A pending confirmation.
    pub confirm: Option<Confirm>,
    /// A one-line message for the status bar.
    pub message: String,
    /// The backend and its endpoint, for the status bar.
    pub backend: String,
    /// A backend still starting (LocalStack in Docker): what, and since when.
    pub backend_starting: Option<(String, DateTime<Utc>)>,
    /// The container the backend runs in, once known, for the status bar.
    pub container: Option<String>,
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
    /// The command line came back from `$EDITOR`.
    LineEdited(String),
    /// Text was pasted (bracketed paste).
    Paste(String),
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
    /// Suspend and edit the command line in `$EDITOR`; the runtime answers with
    /// [`Msg::LineEdited`].
    EditLine(String),
    /// Keep a typed command in the exercise's console history (across restarts).
    Remember(String),
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
            finding: None,
            back: Vec::new(),
            last_find: String::new(),
            lesson_lines: Vec::new(),
            exercise: None,
            help: false,
            help_scroll: 0,
            mouse: false,
            confirm: None,
            message: String::new(),
            backend: "engine (starts with an exercise)".into(),
            backend_starting: None,
            container: None,
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
            Screen::Lesson if self.finding.is_some() => Context::Find,
            Screen::Lesson => Context::Lesson,
            Screen::Exercise if self.exercise.as_ref().is_some_and(|x| x.details.is_some()) => {
                Context::Details
            }
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
                self.render_lesson();
                self.render_details();
                self.clamp_scrolls();
                Vec::new()
            }
            Msg::LineEdited(line) => {
                if let Some(x) = self.exercise.as_mut() {
                    x.input = one_line(&line);
                    x.cursor = x.input.chars().count();
                    x.typing = true;
                }
                Vec::new()
            }
            Msg::Paste(text) => {
                if let Some(x) = self.exercise.as_mut().filter(|x| x.typing) {
                    let text = one_line(&text);
                    let at = byte_index(&x.input, x.cursor);
                    x.input.insert_str(at, &text);
                    x.cursor += text.chars().count();
                }
                Vec::new()
            }
            Msg::Worker(WorkerEvent::ExerciseReady(Ready {
                id,
                instructions,
                explanation,
                vars,
                backend,
                files,
                history,
            })) => {
                self.backend = backend;
                let theme = self.theme;
                let width = self.instructions_width();
                if let Some(x) = self.exercise.as_mut().filter(|x| x.id == id) {
                    x.instructions_lines = markdown::render(&instructions, theme, width);
                    x.instructions = instructions;
                    x.history = history;
                    x.explanation = explanation;
                    // Hints name the learner's resources as the instructions do.
                    x.hints = x
                        .hints
                        .iter()
                        .map(|h| {
                            crate::lab::vars::substitute(h, &vars).unwrap_or_else(|_| h.clone())
                        })
                        .collect();
                    x.vars = vars;
                    x.files = files;
                    x.ready = true;
                    x.busy = false;
                    x.output.push((
                        OutputKind::Info,
                        "Ready. Type AWS CLI commands (help lists them); Esc leaves the console, F5 or c checks, F1 shows the keys.".into(),
                    ));
                }
                self.render_details();
                Vec::new()
            }
            Msg::Worker(WorkerEvent::BackendStarting(what)) => {
                self.backend_starting = Some((what, self.now));
                Vec::new()
            }
            Msg::Worker(WorkerEvent::BackendReady(place)) => {
                self.backend_starting = None;
                self.message = format!("{place} is ready.");
                self.container = Some(place);
                Vec::new()
            }
            Msg::Worker(WorkerEvent::BackendFailed(error)) => {
                self.backend_starting = None;
                self.message = error;
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
                        push_output(&mut x.output, OutputKind::Stdout, line);
                    }
                    for line in outcome.stderr.lines() {
                        push_output(&mut x.output, OutputKind::Stderr, line);
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
                // Only an explicit check counts as an attempt and rates the exercise.
                if let Some(x) = self.exercise.as_mut() {
                    x.typing = true;
                }
                self.message =
                    "Back in keylab: press F5 (or c outside the console) to check.".into();
                Vec::new()
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
            (Context::Find, None) => {
                if let (KeyCode::Char(c), Some(text)) = (key.code, self.finding.as_mut())
                    && !key.modifiers.contains(KeyModifiers::CONTROL)
                {
                    text.push(c);
                }
                Vec::new()
            }
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
                self.help_scroll = 0;
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
            Context::Lesson | Context::Find => self.act_lesson(context, action),
            Context::Details => self.act_details(action),
            Context::Exercise => self.act_exercise(action),
            Context::Console => self.act_console(action),
            Context::DrillMenu => self.act_menu(action),
            Context::Drill => self.act_drill(action),
            Context::Readiness => {
                if action == Action::Back {
                    self.go_back();
                }
                Vec::new()
            }
            Context::Help => {
                self.scroll_help(action);
                Vec::new()
            }
            Context::Global | Context::Class => Vec::new(),
        }
    }
}

/// A pasted or edited text as one command line: line breaks become spaces (the console runs
/// one line; JSON does not mind).
fn one_line(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The most console output lines kept.
const OUTPUT_LIMIT: usize = 5_000;

/// Adds a line of output with its tabs expanded to the next multiple of 8 columns (the
/// terminal would, and a cell cannot hold a tab).
pub(super) fn push_output(output: &mut Vec<(OutputKind, String)>, kind: OutputKind, line: &str) {
    let mut expanded = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let spaces = 8 - column % 8;
            expanded.extend(std::iter::repeat_n(' ', spaces));
            column += spaces;
        } else {
            expanded.push(c);
            column += 1;
        }
    }
    output.push((kind, expanded));
    if output.len() > OUTPUT_LIMIT {
        output.drain(..output.len() - OUTPUT_LIMIT);
    }
}
