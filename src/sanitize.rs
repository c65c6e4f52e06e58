//! Text from elsewhere (a pack, a results file, a learner's name, a backend's answer, a
//! workspace file) is shown as text, never obeyed by the terminal: control characters and the
//! escape sequences they start are replaced with visible escapes (`\x1b`, `\u{202e}`), so a
//! name cannot clear the instructor's screen, retitle the window, hide a line or forge an
//! audit entry. Bidirectional overrides are escaped too, so text cannot reorder what is
//! shown ("Trojan Source", CVE-2021-42574). Spreadsheet cells that a spreadsheet would run as
//! a formula are neutralised as OWASP recommends for CSV injection.
//!
//! Applied at the edges: everything the CLI prints (`outln!`, errors), every cell the TUI
//! draws, every CSV cell written. JSON output needs nothing: `serde_json` escapes control
//! characters itself.

use std::borrow::Cow;

fn is_unsafe(c: char, keep_newlines: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_newlines,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Bidirectional embeddings, overrides and isolates.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c, keep_newlines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe(c, keep_newlines) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// Text of several lines: newlines and tabs kept, every other control character escaped.
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// One line (a name, a field): newlines and tabs escaped too.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Whether text holds anything [`text`] would escape.
pub fn needs_escaping(text: &str) -> bool {
    text.chars().any(|c| is_unsafe(c, true))
}

/// A CSV cell as a spreadsheet may safely open it: escaped like [`line`], and prefixed with
/// `'` when it starts with `=`, `+`, `-`, `@` (or a tab or carriage return), so it is read as
/// text rather than run as a formula.
pub fn csv_cell(cell: &str) -> Cow<'_, str> {
    let starts_formula = cell
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    let escaped = line(cell);
    if !starts_formula {
        return escaped;
    }
    Cow::Owned(format!("'{escaped}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(text("plain\nlines\tok"), "plain\nlines\tok");
        assert_eq!(
            text("\u{1b}[2J\u{1b}]0;owned\u{7}"),
            "\\x1b[2J\\x1b]0;owned\\x07"
        );
        assert_eq!(line("two\nlines"), "two\\x0alines");
        assert_eq!(text("\u{9b}31m"), "\\x9b31m");
        assert_eq!(text("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert!(matches!(text("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("Ana"), "Ana");
    }
}
