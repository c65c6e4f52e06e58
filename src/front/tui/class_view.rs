//! The class table of `keylab class collect --format tui` and `keylab class watch`: tabs for
//! the learners (with what each is working on now), the exercises (with who is on each), the
//! known mistakes learners made, the checks learners failed and the superseded and rejected
//! files, each a ratatui table. [`ClassView::key`] is the pure update (keys resolve through the
//! one keymap table, context `Class`), [`ClassView::replace`] takes a newer class (the watch),
//! [`ClassView::draw`] only reads, and [`run`] owns the terminal.

use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Tabs};

use super::keymap::{self, Action, Context};
use super::theme::{Role, Theme};
use crate::workshop::class::{Class, EXERCISE_COLUMNS, LEARNER_COLUMNS};

/// The tabs.
pub const TABS: [&str; 5] = [
    "Learners",
    "Exercises",
    "Known mistakes",
    "Checks failed",
    "Files",
];

/// The view's state.
#[derive(Debug, Clone)]
pub struct ClassView {
    /// The class.
    pub class: Class,
    /// The tab shown.
    pub tab: usize,
    /// The selected row.
    pub selected: usize,
    /// The theme.
    pub theme: Theme,
    /// Why the last look at the folder could not be shown (the watch), shown in the status bar.
    pub note: Option<String>,
}

impl ClassView {
    /// A view on the learners tab.
    pub fn new(class: Class, theme: Theme) -> ClassView {
        ClassView {
            class,
            tab: 0,
            selected: 0,
            theme,
            note: None,
        }
    }

    fn rows(&self) -> usize {
        match self.tab {
            0 => self.class.learners.len(),
            1 => self.class.exercises.len(),
            2 => self.class.mistakes.len(),
            3 => self.class.checks.len(),
            _ => self.class.superseded.len() + self.class.rejected.len(),
        }
    }

    /// Shows a newer collection of the class, on the same tab, the selection kept in range.
    pub fn replace(&mut self, class: Class) {
        self.class = class;
        self.selected = self.selected.min(self.rows().saturating_sub(1));
        self.note = None;
    }

    /// Handles a key (Vim notation, as [`keymap::key_name`] gives it); returns whether to leave.
    pub fn key(&mut self, key: &str) -> bool {
        match keymap::resolve(Context::Class, key) {
            Some(Action::Quit | Action::Back) => return true,
            Some(Action::Next) => {
                self.tab = (self.tab + 1) % TABS.len();
                self.selected = 0;
            }
            Some(Action::Previous) => {
                self.tab = (self.tab + TABS.len() - 1) % TABS.len();
                self.selected = 0;
            }
            Some(Action::Down) => {
                self.selected = (self.selected + 1).min(self.rows().saturating_sub(1))
            }
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            _ => {}
        }
        false
    }

    /// Draws the view.
    pub fn draw(&self, frame: &mut Frame) {
        let style = |r: Role| self.theme.style(r);
        let [head, tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let c = &self.class;
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    format!("Workshop {}", c.workshop.as_deref().unwrap_or("-")),
                    style(Role::Title),
                ),
                Span::styled(
                    format!(
                        " · pack {} ({}…) · {} accepted, {} superseded, {} rejected",
                        c.pack,
                        &c.pack_hash[..12.min(c.pack_hash.len())],
                        c.learners.len(),
                        c.superseded.len(),
                        c.rejected.len()
                    ),
                    style(Role::Muted),
                ),
            ])),
            head,
        );
        frame.render_widget(
            Tabs::new(TABS.iter().map(|t| t.to_string()))
                .select(self.tab)
                .style(style(Role::Muted))
                .highlight_style(style(Role::Selected)),
            tabs,
        );
        let (header, widths, rows) = self.table();
        let empty = rows.is_empty();
        let table = Table::new(
            rows.into_iter()
                .map(|r| Row::new(r.into_iter().map(Cell::from))),
            widths,
        )
        .header(Row::new(header.into_iter().map(Cell::from)).style(style(Role::Title)))
        .row_highlight_style(style(Role::Selected))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(style(Role::Focus))
                .title(Span::styled(
                    format!(" {} ", TABS[self.tab]),
                    style(Role::Title),
                )),
        );
        let mut state = TableState::default().with_selected((!empty).then_some(self.selected));
        frame.render_stateful_widget(table, body, &mut state);
        let keys: Vec<String> = keymap::bindings(Context::Class)
            .filter(|b| b.status)
            .map(|b| format!("{} {}", b.keys[0], b.help))
            .collect();
        let status_line = match &self.note {
            Some(note) => {
                Paragraph::new(format!(" {}", crate::sanitize::line(note))).style(style(Role::Warn))
            }
            None => Paragraph::new(format!(" {}", keys.join("  "))).style(style(Role::Status)),
        };
        frame.render_widget(status_line, status);
        super::view::show_controls(frame.buffer_mut());
    }
}

/// A refresh for [`run`]: how often to ask, and the asking (`None` when nothing changed, else
/// the newer class or why it cannot be collected, which is shown until a class is).
pub type Refresh<'a> = (
    Duration,
    &'a mut dyn FnMut() -> Option<Result<Class, String>>,
);

impl ClassView {
    /// The shown tab's header, column widths and rows.
    fn table(&self) -> (Vec<&'static str>, Vec<Constraint>, Vec<Vec<String>>) {
        let c = &self.class;
        match self.tab {
            0 => (
                LEARNER_COLUMNS.to_vec(),
                vec![
                    Constraint::Length(16),
                    Constraint::Length(6),
                    Constraint::Length(11),
                    Constraint::Length(5),
                    Constraint::Length(20),
                    Constraint::Min(20),
                ],
                c.learners.iter().map(|l| l.cells().to_vec()).collect(),
            ),
            1 => (
                EXERCISE_COLUMNS.to_vec(),
                vec![
                    Constraint::Length(24),
                    Constraint::Length(6),
                    Constraint::Length(6),
                    Constraint::Length(6),
                    Constraint::Length(5),
                    Constraint::Length(8),
                    Constraint::Length(7),
                    Constraint::Min(12),
                ],
                c.exercises.iter().map(|x| x.cells().to_vec()).collect(),
            ),
            2 => (
                vec!["exercise", "known mistake", "fails", "ever", "now"],
                vec![
                    Constraint::Length(24),
                    Constraint::Length(26),
                    Constraint::Length(10),
                    Constraint::Length(4),
                    Constraint::Min(12),
                ],
                c.mistakes
                    .iter()
                    .map(|m| {
                        let fails: Vec<String> = m
                            .checks
                            .iter()
                            .map(|k| format!("#{}", k.index + 1))
                            .collect();
                        vec![
                            m.exercise.clone(),
                            format!("`{}`", m.variant),
                            fails.join(" "),
                            m.ever.to_string(),
                            m.now.join(", "),
                        ]
                    })
                    .collect(),
            ),
            3 => (
                vec!["learners", "exercise", "check", "misconception"],
                vec![
                    Constraint::Length(8),
                    Constraint::Length(24),
                    Constraint::Min(20),
                    Constraint::Min(20),
                ],
                c.checks
                    .iter()
                    .map(|k| {
                        vec![
                            format!("{}/{}", k.learners, c.learners.len()),
                            k.exercise.clone(),
                            format!("#{} {}", k.index + 1, k.title),
                            k.misconception.trim().to_string(),
                        ]
                    })
                    .collect(),
            ),
            _ => (
                vec!["file", "status", "why"],
                vec![
                    Constraint::Length(24),
                    Constraint::Length(10),
                    Constraint::Min(20),
                ],
                c.superseded
                    .iter()
                    .map(|s| {
                        vec![
                            s.file.clone(),
                            "superseded".into(),
                            format!("the same learner handed in {} later", s.by),
                        ]
                    })
                    .chain(
                        c.rejected
                            .iter()
                            .map(|r| vec![r.file.clone(), "rejected".into(), r.reason.clone()]),
                    )
                    .collect(),
            ),
        }
    }
}

/// Shows the class until the instructor leaves; with a refresh, asks for a newer class at its
/// interval and shows it. The terminal is restored afterwards.
pub fn run(class: Class, theme: Theme, mut refresh: Option<Refresh<'_>>) -> std::io::Result<()> {
    let mut view = ClassView::new(class, theme);
    let mut terminal = ratatui::init();
    let result = (|| -> std::io::Result<()> {
        loop {
            terminal.draw(|f| view.draw(f))?;
            if let Some((every, ask)) = refresh.as_mut()
                && !event::poll(*every)?
            {
                match ask() {
                    Some(Ok(class)) => view.replace(class),
                    Some(Err(why)) => view.note = Some(why),
                    None => {}
                }
                continue;
            }
            if let Event::Key(k) = event::read()?
                && k.kind == KeyEventKind::Press
                && view.key(&keymap::key_name(&k))
            {
                return Ok(());
            }
        }
    })();
    ratatui::restore();
    result
}
