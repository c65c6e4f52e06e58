//! Lesson Markdown as ratatui lines, through `tui-markdown` (headings, emphasis, lists, tables,
//! code blocks, block quotes, links shown with their URL), without syntax highlighting. The
//! result is converted to owned lines once per lesson and theme and cached by the app, never
//! parsed while drawing. The mono theme keeps modifiers and drops colours.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme::Theme;

/// Renders Markdown into owned lines.
pub fn render(markdown: &str, theme: Theme) -> Vec<Line<'static>> {
    let text = tui_markdown::from_str(markdown);
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
