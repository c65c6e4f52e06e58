//! Moving between screens: forward remembers where from, Esc goes back there, and the status
//! bar's message is left behind with the screen it was about. Also the scroll limits of every
//! pane, in wrapped rows for the current size.

use super::*;
use crate::front::tui::layout;

impl App {
    /// Shows `screen`, remembering the current one for Esc.
    pub(super) fn go_to(&mut self, screen: Screen) {
        if self.screen != screen {
            self.back.push(self.screen);
            if self.back.len() > 16 {
                self.back.remove(0);
            }
        }
        self.screen = screen;
        self.message.clear();
    }

    /// Goes back to the screen this one was opened from (the course map when none), with the
    /// map's cursor on the lesson or exercise just left.
    pub(super) fn go_back(&mut self) {
        let left = self.screen;
        let to = self.back.pop().unwrap_or(Screen::Map);
        self.screen = if to == left { Screen::Map } else { to };
        self.message.clear();
        if self.screen == Screen::Map {
            self.follow_on_map(left);
        }
    }

    /// Puts the map's cursor on the exercise (or lesson) last shown.
    fn follow_on_map(&mut self, left: Screen) {
        let rows = self.rows();
        let exercise = self.exercise.as_ref().map(|x| x.id.clone());
        let found = match (left, exercise) {
            (Screen::Exercise, Some(id)) => {
                rows.iter().position(|r| *r == Row::Exercise(id.clone()))
            }
            _ => None,
        }
        .or_else(|| rows.iter().position(|r| *r == Row::Lesson(self.lesson)));
        if let Some(i) = found {
            self.selected = i;
        }
    }

    /// The width lesson text is laid out at.
    pub(super) fn lesson_width(&self) -> u16 {
        layout::inner(layout::main(self.size)).width
    }

    /// The width the instructions are laid out at.
    pub(super) fn instructions_width(&self) -> u16 {
        let has_panel = self
            .exercise
            .as_ref()
            .is_some_and(|x| x.results.is_some() || x.hints_shown > 0);
        layout::inner(layout::exercise(self.size, has_panel).instructions).width
    }

    /// The lowest lesson scroll that still fills the pane: the last row at the bottom.
    pub(super) fn lesson_max_scroll(&self) -> u16 {
        let pane = layout::inner(layout::main(self.size));
        let rows = markdown::rows(&self.lesson_lines, pane.width);
        rows.saturating_sub(pane.height as usize)
            .min(u16::MAX as usize) as u16
    }

    /// The lowest instructions scroll that still fills their pane.
    pub(super) fn instructions_max_scroll(&self) -> u16 {
        let Some(x) = &self.exercise else {
            return 0;
        };
        let has_panel = x.results.is_some() || x.hints_shown > 0;
        let pane = layout::inner(layout::exercise(self.size, has_panel).instructions);
        let rows = markdown::rows(&x.instructions_lines, pane.width);
        rows.saturating_sub(pane.height as usize)
            .min(u16::MAX as usize) as u16
    }

    /// The lowest details scroll that still fills the overlay.
    pub(super) fn details_max_scroll(&self) -> u16 {
        let Some(x) = &self.exercise else {
            return 0;
        };
        let pane = layout::inner(layout::overlay(self.size));
        let rows = markdown::rows(&x.details_lines, pane.width);
        rows.saturating_sub(pane.height as usize)
            .min(u16::MAX as usize) as u16
    }

    /// The lowest help scroll that still fills the overlay.
    pub(super) fn help_max_scroll(&self) -> u16 {
        let pane = layout::inner(layout::overlay(self.size));
        let rows = keymap::help_rows(self.screen_context(), pane.width);
        rows.saturating_sub(pane.height as usize)
            .min(u16::MAX as usize) as u16
    }

    /// Scrolls the help overlay.
    pub(super) fn scroll_help(&mut self, action: Action) {
        let (page, max) = (self.page(), self.help_max_scroll());
        scroll(&mut self.help_scroll, action, page, max);
    }

    /// The page size of the lesson reader and the details.
    pub(super) fn page(&self) -> u16 {
        layout::inner(layout::main(self.size))
            .height
            .saturating_sub(1)
            .max(1)
    }

    /// Keeps every scroll within its text after a resize.
    pub(super) fn clamp_scrolls(&mut self) {
        self.lesson_scroll = self.lesson_scroll.min(self.lesson_max_scroll());
        self.help_scroll = self.help_scroll.min(self.help_max_scroll());
        let instructions = self.instructions_max_scroll();
        let details = self.details_max_scroll();
        if let Some(x) = self.exercise.as_mut() {
            x.scroll = x.scroll.min(instructions);
            if let Some(d) = x.details.as_mut() {
                *d = (*d).min(details);
            }
        }
    }
}

/// Moves a pane's first row for a scroll action (line, page, top, bottom) within `0..=max`;
/// false when `action` is not a scroll.
pub(super) fn scroll(first_row: &mut u16, action: Action, page: u16, max: u16) -> bool {
    *first_row = match action {
        Action::Up => first_row.saturating_sub(1),
        Action::Down => first_row.saturating_add(1).min(max),
        Action::PageUp => first_row.saturating_sub(page),
        Action::PageDown => first_row.saturating_add(page).min(max),
        Action::Top => 0,
        Action::Bottom => max,
        _ => return false,
    };
    true
}
