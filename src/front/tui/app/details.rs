//! The checks in full: every check's verdict and message, the policy trace of each failed
//! check, the hints revealed so far and, after a pass, the explanation and how to move on.
//! Rendered once per change (Markdown for hints and the explanation) and shown full screen,
//! scrolled by wrapped rows; the exercise screen's checks pane shows its top.

use super::*;
use crate::front::tui::layout;
use crate::front::tui::theme::Role;
use ratatui::text::Span;

impl App {
    /// Renders the details for the theme and the overlay's width.
    pub(super) fn render_details(&mut self) {
        let theme = self.theme;
        let width = layout::inner(layout::overlay(self.size)).width;
        let sources = self
            .exercise
            .as_ref()
            .and_then(|x| self.pack.exercise(&x.id))
            .map(|spec| spec.spec.sources.clone())
            .unwrap_or_default();
        let Some(x) = self.exercise.as_mut() else {
            return;
        };
        let style = |role: Role| theme.style(role);
        let mut lines: Vec<Line<'static>> = Vec::new();
        if let Some(results) = &x.results {
            for r in results {
                let (mark, word, role) = match r.status {
                    Status::Pass => ("✓", "PASS", Role::Pass),
                    Status::Fail => ("✗", "FAIL", Role::Fail),
                    Status::Error => ("!", "ERROR", Role::Warn),
                    Status::NotApplicable => ("–", "N/A", Role::Muted),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark} {word} "), style(role)),
                    Span::raw(r.title.clone()),
                ]));
                if r.status != Status::Pass && !r.message.is_empty() {
                    for line in r.message.lines() {
                        lines.push(Line::styled(format!("    {line}"), style(Role::Muted)));
                    }
                }
                if r.status != Status::Pass
                    && let Some(trace) = &r.trace
                {
                    lines.push(Line::styled("    Policy trace:", style(Role::Title)));
                    lines.extend(trace.lines().map(|l| Line::raw(format!("    {l}"))));
                }
            }
        }
        for (i, hint) in x.hints.iter().take(x.hints_shown).enumerate() {
            lines.push(Line::default());
            lines.push(Line::styled(
                format!("Hint {} of {}", i + 1, x.hints.len()),
                style(Role::Warn),
            ));
            lines.extend(markdown::render(hint.trim(), theme, width));
        }
        let passed = x.passed();
        if passed {
            lines.push(Line::default());
            lines.push(Line::styled("Why it works", style(Role::Title)));
            lines.extend(markdown::render(x.explanation.trim(), theme, width));
            if !sources.is_empty() {
                lines.push(Line::default());
                lines.push(Line::styled("Sources", style(Role::Title)));
                lines.extend(sources.into_iter().map(Line::raw));
            }
            lines.push(Line::default());
            lines.push(Line::styled(
                "n: next exercise · Esc: back to the exercise",
                style(Role::Accent),
            ));
        }
        if lines.is_empty() {
            lines.push(Line::styled(
                "No check has run yet: c (or F5 in the console) checks; H shows a hint.",
                style(Role::Muted),
            ));
        } else if !passed {
            lines.push(Line::default());
            lines.push(Line::styled(
                "H: next hint · Esc: back to the exercise",
                style(Role::Accent),
            ));
        }
        x.details_lines = lines;
    }

    /// Opens the details full screen, at the top or at the end.
    pub(super) fn open_details(&mut self, at_end: bool) {
        self.render_details();
        let end = self.details_max_scroll();
        if let Some(x) = self.exercise.as_mut() {
            x.details = Some(if at_end { end } else { 0 });
        }
    }

    pub(super) fn act_details(&mut self, action: Action) -> Vec<Effect> {
        let max = self.details_max_scroll();
        let page = self.page();
        let Some(x) = self.exercise.as_mut() else {
            return Vec::new();
        };
        let Some(scroll) = x.details.as_mut() else {
            return Vec::new();
        };
        if super::navigation::scroll(scroll, action, page, max) {
            return Vec::new();
        }
        match action {
            Action::Back => x.details = None,
            Action::Hint => return self.hint(),
            Action::Next => {
                x.details = None;
                return self.next_exercise();
            }
            _ => {}
        }
        Vec::new()
    }
}
