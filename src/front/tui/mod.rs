//! The terminal app (ratatui + crossterm): course map, lesson reader, exercise screen with a
//! console, status bar and help overlay. [`app`] holds the state and the pure `update`,
//! [`view`] draws it, [`keymap`] is the one table of keys, [`super::worker`] runs the backend off the
//! UI thread. This module owns the terminal: raw mode and the alternate screen are restored on
//! exit, on a panic (ratatui's hook) and while the learner's shell or editor runs. [`super::plain`] is
//! the same lab line by line, for screen readers and dumb terminals.

pub mod app;
pub mod class_view;
pub mod keymap;
pub mod layout;
pub mod markdown;
pub mod theme;
pub mod view;

use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event, KeyEventKind,
};
use ratatui::crossterm::execute;

use self::app::{App, Effect, Msg};
use self::theme::Theme;
use super::worker::{Job, ShellEnv, TargetSource, Worker};
use crate::lab::progress::{DataDir, Progress};
use crate::pack::Pack;

/// Why the TUI stopped.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// The terminal failed.
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    /// Progress could not be saved.
    #[error("{0}")]
    Progress(String),
}

/// Runs a program (the learner's shell or editor) on the terminal, inside keylab's alternate
/// screen so that what it prints is gone when keylab ends, and the terminal is as it was.
fn suspend_for(command: &mut std::process::Command) -> std::io::Result<std::process::ExitStatus> {
    use ratatui::crossterm::terminal::{Clear, ClearType, disable_raw_mode, enable_raw_mode};
    let mut out = std::io::stdout();
    let _ = execute!(out, DisableBracketedPaste);
    disable_raw_mode()?;
    execute!(
        out,
        Clear(ClearType::All),
        ratatui::crossterm::cursor::MoveTo(0, 0),
        ratatui::crossterm::cursor::Show
    )?;
    let status = command.status();
    enable_raw_mode()?;
    let _ = execute!(out, Clear(ClearType::All), EnableBracketedPaste);
    status
}

/// The learner's `$VISUAL`, `$EDITOR` or `vi`.
fn editor() -> String {
    std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into())
}

/// What the shell prints before its prompt: who, where, how to switch identity and go back.
fn banner(env: &ShellEnv) -> String {
    format!(
        "keylab: your shell in {} as {} (AWS_* variables are set; aws --profile NAME acts as another lab identity: {}).\nexit (or Ctrl-D) returns to keylab; then press F5 or c to check.\n",
        env.workspace.display(),
        env.profile,
        env.profiles.join(", ")
    )
}

/// Opens the command line in the editor and returns what was saved.
fn edit_line(env: &ShellEnv, line: &str) -> std::io::Result<String> {
    let path = env.lab.join("command-line.txt");
    keylab_engine::fsutil::write_atomic(&path, format!("{line}\n").as_bytes())?;
    let mut command = std::process::Command::new(editor());
    command.arg(&path).current_dir(&env.workspace);
    suspend_for(&mut command)?;
    let text = std::fs::read_to_string(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(text)
}

/// Runs the TUI until the learner quits.
pub fn run(
    pack: Arc<Pack>,
    data: DataDir,
    target: TargetSource,
    theme: Theme,
) -> Result<(), TuiError> {
    let progress_path = data.progress_file();
    let progress = Progress::load(&progress_path).map_err(TuiError::Progress)?;
    let seed = progress.seed;
    let (events, worker_events) = channel();
    let worker = Worker::start(pack.clone(), data, seed, target, events);
    let mut terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableBracketedPaste);
    let size = terminal.size()?;
    let had_notice = progress.notice.is_some();
    let mut app = App::new(pack, progress, theme, (size.width, size.height));
    if had_notice {
        app.progress
            .save(&progress_path)
            .map_err(TuiError::Progress)?;
    }
    app.update(Msg::Tick(chrono::Utc::now()));
    let result = (|| -> Result<(), TuiError> {
        terminal.draw(|f| view::draw(&app, f))?;
        let mut returned = false;
        loop {
            let mut msgs: Vec<Msg> = vec![Msg::Tick(chrono::Utc::now())];
            if std::mem::take(&mut returned) {
                msgs.push(Msg::Returned);
            }
            msgs.extend(worker_events.try_iter().map(Msg::Worker));
            if event::poll(Duration::from_millis(40))? {
                match event::read()? {
                    Event::Key(k) if k.kind == KeyEventKind::Press => msgs.push(Msg::Key(k)),
                    Event::Resize(w, h) => msgs.push(Msg::Resize(w, h)),
                    Event::Paste(text) => msgs.push(Msg::Paste(text)),
                    _ => {}
                }
            }
            let mut msgs_after: Vec<Msg> = Vec::new();
            for msg in msgs {
                for effect in app.update(msg) {
                    match effect {
                        Effect::OpenExercise(id) => worker.send(Job::Open(id)),
                        Effect::Run(line) => worker.send(Job::Run(line)),
                        Effect::Remember(line) => worker.send(Job::Remember(line)),
                        Effect::EditLine(line) => {
                            let Some(env) = worker.environment() else {
                                continue;
                            };
                            let edited = edit_line(&env, &line).unwrap_or(line);
                            terminal.clear()?;
                            msgs_after.push(Msg::LineEdited(edited));
                        }
                        Effect::Check => worker.send(Job::Check),
                        Effect::Reset => worker.send(Job::Reset),
                        Effect::CloseExercise => worker.send(Job::Close),
                        Effect::SaveProgress => app
                            .progress
                            .save(&progress_path)
                            .map_err(TuiError::Progress)?,
                        Effect::SetMouse(on) => {
                            if on {
                                execute!(std::io::stdout(), EnableMouseCapture)?;
                            } else {
                                execute!(std::io::stdout(), DisableMouseCapture)?;
                            }
                        }
                        Effect::Shell | Effect::Edit(_) => {
                            let Some(env) = worker.environment() else {
                                continue;
                            };
                            let mut command = match &effect {
                                Effect::Edit(file) => {
                                    let mut c = std::process::Command::new(editor());
                                    match crate::confine::relative(file) {
                                        Ok(rel) => c.arg(env.workspace.join(rel)),
                                        Err(_) => continue,
                                    };
                                    c
                                }
                                _ => {
                                    let shell =
                                        std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
                                    std::process::Command::new(shell)
                                }
                            };
                            command.current_dir(&env.workspace).envs(env.vars.clone());
                            if matches!(effect, Effect::Shell) {
                                print!("{}", banner(&env).replace('\n', "\r\n"));
                            }
                            let _ = suspend_for(&mut command);
                            terminal.clear()?;
                            returned = true;
                        }
                        Effect::Quit => {}
                    }
                }
            }
            for msg in msgs_after {
                let _ = app.update(msg);
            }
            if app.quit {
                return Ok(());
            }
            terminal.draw(|f| view::draw(&app, f))?;
        }
    })();
    if app.mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    let _ = execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::restore();
    worker.stop();
    result
}
