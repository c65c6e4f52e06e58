//! Semantic styles: screens ask for a role (`title`, `pass`, `selected` …), never a colour.
//! Three themes: `dark` and `light` use the terminal's named ANSI colours (so its palette
//! applies), `mono` uses modifiers only and is chosen when `NO_COLOR` is set. State is never
//! shown by colour alone: marks and words (✓ PASS, ✗ FAIL) carry it in every theme.

use ratatui::style::{Color, Modifier, Style};

/// A theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Theme {
    /// For dark backgrounds.
    Dark,
    /// For light backgrounds.
    Light,
    /// No colour.
    Mono,
}

/// A semantic role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Body text.
    Text,
    /// Titles and headings.
    Title,
    /// Secondary text.
    Muted,
    /// Highlights and key names.
    Accent,
    /// The selected row.
    Selected,
    /// Passing checks and done items.
    Pass,
    /// Failing checks.
    Fail,
    /// Warnings and prompts.
    Warn,
    /// Commands the learner typed.
    Command,
    /// Pane borders.
    Border,
    /// The focused pane's border.
    Focus,
    /// The status bar.
    Status,
}

impl Theme {
    /// The theme from the environment: `mono` when `NO_COLOR` is set and not empty.
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::Mono,
            _ => Theme::Dark,
        }
    }

    /// The next theme.
    pub fn next(self) -> Theme {
        match self {
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::Mono,
            Theme::Mono => Theme::Dark,
        }
    }

    /// The name.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
            Theme::Mono => "mono",
        }
    }

    /// The style of a role.
    pub fn style(self, role: Role) -> Style {
        let s = Style::default();
        if self == Theme::Mono {
            return match role {
                Role::Title => s.add_modifier(Modifier::BOLD),
                Role::Muted => s.add_modifier(Modifier::DIM),
                Role::Accent | Role::Command => s.add_modifier(Modifier::BOLD),
                Role::Selected | Role::Status => s.add_modifier(Modifier::REVERSED),
                Role::Fail | Role::Warn => s.add_modifier(Modifier::BOLD),
                Role::Focus => s.add_modifier(Modifier::BOLD),
                Role::Text | Role::Pass | Role::Border => s,
            };
        }
        let (accent, muted) = match self {
            Theme::Light => (Color::Blue, Color::DarkGray),
            _ => (Color::Cyan, Color::Gray),
        };
        match role {
            Role::Text => s,
            Role::Title => s.fg(accent).add_modifier(Modifier::BOLD),
            Role::Muted => s.fg(muted),
            Role::Accent => s.fg(accent),
            Role::Selected => s.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            Role::Pass => s.fg(Color::Green),
            Role::Fail => s.fg(Color::Red).add_modifier(Modifier::BOLD),
            Role::Warn => s.fg(Color::Yellow),
            Role::Command => s.fg(accent).add_modifier(Modifier::BOLD),
            Role::Border => s.fg(muted),
            Role::Focus => s.fg(accent).add_modifier(Modifier::BOLD),
            Role::Status => s.add_modifier(Modifier::REVERSED),
        }
    }
}
