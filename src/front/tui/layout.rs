//! Where each pane goes for a terminal size: one set of functions that both `update` (to clamp
//! scrolling to what can be shown, in wrapped rows) and the view (to draw) use, so the two
//! cannot disagree about a pane's width or height.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// The whole screen above the status bar.
pub fn main(size: (u16, u16)) -> Rect {
    Rect::new(0, 0, size.0, size.1.saturating_sub(1))
}

/// The inside of a bordered pane.
pub fn inner(area: Rect) -> Rect {
    Rect::new(
        area.x.saturating_add(1),
        area.y.saturating_add(1),
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    )
}

/// The panes of the exercise screen.
#[derive(Debug, Clone, Copy)]
pub struct ExerciseAreas {
    /// The instructions.
    pub instructions: Rect,
    /// The checks summary (zero height when there is nothing to show).
    pub panel: Rect,
    /// The console, border included.
    pub console: Rect,
}

/// The exercise screen: instructions (and the checks under them) beside the console from 100
/// columns, above it below that.
pub fn exercise(size: (u16, u16), has_panel: bool) -> ExerciseAreas {
    let area = main(size);
    let direction = if area.width >= 100 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [left, console] = Layout::default()
        .direction(direction)
        .constraints([Constraint::Percentage(48), Constraint::Percentage(52)])
        .areas(area);
    let [instructions, panel] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Percentage(if has_panel { 45 } else { 0 }),
    ])
    .areas(left);
    ExerciseAreas {
        instructions,
        panel,
        console,
    }
}

/// The console's output rows and its input line, inside its border.
pub fn console_parts(console: Rect) -> (Rect, Rect) {
    let [output, input] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner(console));
    (output, input)
}

/// A full-screen overlay (details of the checks, help): the whole main area, so no border of the
/// screen below shows beside it and every column serves its text.
pub fn overlay(size: (u16, u16)) -> Rect {
    main(size)
}
