//! Markdown (lessons, instructions, hints, explanations) as ratatui lines, through
//! `tui-markdown`, without syntax highlighting. Headings show no `#` markers and code blocks no
//! fences: levels are told apart by style (bold and underlined, bold, bold italic, italic), which
//! the mono theme keeps. Tables are laid out for the width they are drawn at, their cells
//! wrapped inside the borders, so a wide table never breaks its box. The result is converted to
//! owned lines once per text, theme and width and cached by the app, never parsed while drawing.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use tui_markdown::{Options, StyleSheet};

use super::theme::{Role, Theme};

/// The style sheet of a theme.
#[derive(Debug, Clone, Copy)]
struct Styles(Theme);

impl StyleSheet for Styles {
    fn heading(&self, level: u8) -> Style {
        let base = self.0.style(Role::Title);
        match level {
            1 => base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            2 => base.add_modifier(Modifier::BOLD),
            3 => base.add_modifier(Modifier::BOLD | Modifier::ITALIC),
            _ => base.add_modifier(Modifier::ITALIC),
        }
    }

    fn code(&self) -> Style {
        self.0.style(Role::Command)
    }

    fn link(&self) -> Style {
        self.0
            .style(Role::Accent)
            .add_modifier(Modifier::UNDERLINED)
    }

    fn blockquote(&self) -> Style {
        self.0.style(Role::Muted)
    }

    fn heading_marker(&self, _level: u8) -> &str {
        ""
    }

    fn code_block_fence(&self) -> &str {
        ""
    }
}

/// Renders Markdown into owned lines, tables fitted to `width` columns.
pub fn render(markdown: &str, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let options = Options::new(Styles(theme))
        .table_width(width.max(8))
        .table_row_dividers(true);
    let text = tui_markdown::from_str_with_options(markdown, &options);
    text.lines
        .into_iter()
        .map(|line| {
            let spans: Vec<Span<'static>> = line
                .spans
                .into_iter()
                .map(|span| {
                    let style = restyle(line.style.patch(span.style), theme);
                    Span::styled(span.content.into_owned(), style)
                })
                .collect();
            Line::from(spans).alignment(line.alignment.unwrap_or_default())
        })
        .collect()
}

fn restyle(style: Style, theme: Theme) -> Style {
    match theme {
        Theme::Mono => Style::default()
            .add_modifier(style.add_modifier)
            .remove_modifier(style.sub_modifier),
        _ => style,
    }
}

/// How many screen rows `lines` take when wrapped at `width` columns (as the panes draw them).
pub fn rows(lines: &[Line<'_>], width: u16) -> usize {
    if width == 0 {
        return lines.len();
    }
    ratatui::widgets::Paragraph::new(lines.to_vec())
        .wrap(ratatui::widgets::Wrap { trim: false })
        .line_count(width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn headings_and_fences_show_no_markup() {
        let out = plain(&render(
            "# Title\n\n## Part\n\n```sh\naws kms list-keys\n```\n",
            Theme::Mono,
            60,
        ));
        assert!(out.iter().any(|l| l == "Title"), "{out:?}");
        assert!(out.iter().any(|l| l == "Part"), "{out:?}");
        assert!(
            !out.iter().any(|l| l.contains('#') || l.contains("```")),
            "{out:?}"
        );
        assert!(
            out.iter().any(|l| l.contains("aws kms list-keys")),
            "{out:?}"
        );
    }

    #[test]
    fn a_wide_table_keeps_its_box_within_the_width() {
        let table = "| Key type | Who manages it | Rotation |\n|---|---|---|\n| Customer managed key | You, with key policies and grants you write yourself | Optional, every 90 to 2560 days |\n";
        for width in [30u16, 50, 78] {
            let out = render(table, Theme::Dark, width);
            assert!(
                out.iter().all(|l| l.width() <= width as usize),
                "{width}: {:?}",
                plain(&out)
            );
        }
    }
}
