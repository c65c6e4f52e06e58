//! The one keymap table: it drives key dispatch, the `?` help overlay and the status bar, so the
//! three can never disagree. Keys are written as in Vim and helix tests (`j`, `<down>`,
//! `<C-c>`, `<S-tab>`, `<F1>`); [`key_name`] turns a terminal key event into the same notation.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Everywhere, unless typing in the console.
    Global,
    /// The course map.
    Map,
    /// The lesson reader.
    Lesson,
    /// The exercise screen, outside the console.
    Exercise,
    /// Typing in the console.
    Console,
    /// The help overlay.
    Help,
    /// Typing a filter on the course map.
    Filter,
    /// The choice of drill round or mock exam.
    DrillMenu,
    /// Answering questions.
    Drill,
    /// Readiness by DEA-C01 item.
    Readiness,
    /// The class table of `keylab class collect`.
    Class,
    /// The checks, traces, hints and explanation of an exercise, full screen.
    Details,
    /// Typing a text to find in the lesson.
    Find,
}

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Move or scroll up.
    Up,
    /// Move or scroll down.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// To the top.
    Top,
    /// To the bottom.
    Bottom,
    /// Open the selected item.
    Open,
    /// Back to the previous screen.
    Back,
    /// Next lesson or exercise.
    Next,
    /// Previous lesson or exercise.
    Previous,
    /// From a lesson to its exercise.
    ToExercise,
    /// Focus the console.
    FocusConsole,
    /// Leave the console.
    LeaveConsole,
    /// Run the command line.
    Submit,
    /// Previous command of the history.
    HistoryUp,
    /// Next command of the history.
    HistoryDown,
    /// Complete the word at the cursor.
    Complete,
    /// Cursor left.
    CursorLeft,
    /// Cursor right.
    CursorRight,
    /// Delete before the cursor.
    Backspace,
    /// Scroll the console output up.
    OutputUp,
    /// Scroll the console output down.
    OutputDown,
    /// Run the checks.
    Check,
    /// Show the next hint.
    Hint,
    /// Show or hide the policy trace of the selected failed check.
    Trace,
    /// Reset the exercise (asks first).
    Reset,
    /// Suspend and open the learner's shell.
    Shell,
    /// Open a workspace file in `$EDITOR`.
    Edit,
    /// Filter the course map.
    Filter,
    /// Show or hide help.
    Help,
    /// Switch exercise ratings between graded and pass/fail only.
    PassFail,
    /// Toggle mouse capture.
    Mouse,
    /// Cycle the theme.
    Theme,
    /// Open the drill menu.
    Drill,
    /// Open the readiness view.
    Readiness,
    /// Pick or unpick an option, by index.
    Pick(u8),
    /// Pick or unpick the option under the cursor.
    Toggle,
    /// Hand the mock exam in.
    HandIn,
    /// Open the checks, traces, hints and explanation in full.
    Details,
    /// Find a text in the lesson.
    Find,
    /// Cursor to the start of the line.
    LineStart,
    /// Cursor to the end of the line.
    LineEnd,
    /// Cursor one word left.
    WordLeft,
    /// Cursor one word right.
    WordRight,
    /// Delete the character under the cursor.
    Delete,
    /// Delete from the start of the line to the cursor.
    KillToStart,
    /// Delete from the cursor to the end of the line.
    KillToEnd,
    /// Delete the word before the cursor.
    KillWord,
    /// Edit the command line in `$EDITOR`.
    EditLine,
    /// Leave keylab.
    Quit,
}

/// One binding.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Where it applies.
    pub context: Context,
    /// The keys.
    pub keys: &'static [&'static str],
    /// What they do.
    pub action: Action,
    /// The help text.
    pub help: &'static str,
    /// Shown in the status bar.
    pub status: bool,
}

const fn bind(
    context: Context,
    keys: &'static [&'static str],
    action: Action,
    help: &'static str,
    status: bool,
) -> Binding {
    Binding {
        context,
        keys,
        action,
        help,
        status,
    }
}

use Action as A;
use Context as C;

/// Every binding, in the order help lists them.
pub const KEYMAP: &[Binding] = &[
    bind(C::Global, &["<C-c>"], A::Quit, "quit, from anywhere", false),
    bind(C::Global, &["q"], A::Quit, "quit", true),
    bind(C::Global, &["?", "<F1>"], A::Help, "help", true),
    bind(
        C::Global,
        &["m"],
        A::Mouse,
        "mouse capture on/off (off lets you copy)",
        false,
    ),
    bind(
        C::Global,
        &["T"],
        A::Theme,
        "theme: dark, light, mono",
        false,
    ),
    bind(
        C::Help,
        &["<esc>", "?", "<F1>", "q"],
        A::Help,
        "close help",
        true,
    ),
    bind(C::Help, &["k", "<up>"], A::Up, "scroll up", false),
    bind(C::Help, &["j", "<down>"], A::Down, "scroll down", true),
    bind(C::Help, &["<pgup>", "<C-u>"], A::PageUp, "page up", false),
    bind(
        C::Help,
        &["<pgdown>", "<C-d>", " "],
        A::PageDown,
        "page down",
        false,
    ),
    bind(C::Help, &["g", "<home>"], A::Top, "top", false),
    bind(C::Help, &["G", "<end>"], A::Bottom, "bottom", false),
    bind(C::Map, &["k", "<up>"], A::Up, "up", false),
    bind(C::Map, &["j", "<down>"], A::Down, "down", false),
    bind(C::Map, &["g", "<home>"], A::Top, "first", false),
    bind(C::Map, &["G", "<end>"], A::Bottom, "last", false),
    bind(C::Map, &["<enter>", "l", "<right>"], A::Open, "open", true),
    bind(C::Map, &["/"], A::Filter, "filter", true),
    bind(
        C::Map,
        &["d"],
        A::Drill,
        "drill questions or take a mock exam",
        true,
    ),
    bind(C::Map, &["r"], A::Readiness, "readiness by exam item", true),
    bind(
        C::Filter,
        &["<enter>", "<esc>"],
        A::Back,
        "stop filtering",
        true,
    ),
    bind(C::Filter, &["<backspace>"], A::Backspace, "delete", false),
    bind(C::Lesson, &["k", "<up>"], A::Up, "scroll up", false),
    bind(C::Lesson, &["j", "<down>"], A::Down, "scroll down", false),
    bind(C::Lesson, &["<pgup>", "<C-u>"], A::PageUp, "page up", false),
    bind(
        C::Lesson,
        &["<pgdown>", "<C-d>", " "],
        A::PageDown,
        "page down",
        false,
    ),
    bind(C::Lesson, &["g", "<home>"], A::Top, "top", false),
    bind(C::Lesson, &["G", "<end>"], A::Bottom, "bottom", false),
    bind(C::Lesson, &["n"], A::Next, "next lesson", true),
    bind(C::Lesson, &["/"], A::Find, "find in the lesson", true),
    bind(C::Lesson, &["p"], A::Previous, "previous lesson", true),
    bind(
        C::Lesson,
        &["e", "<enter>"],
        A::ToExercise,
        "the lesson's next exercise to do",
        true,
    ),
    bind(C::Lesson, &["<esc>", "h", "<left>"], A::Back, "back", true),
    bind(C::Find, &["<enter>"], A::Submit, "find", true),
    bind(C::Find, &["<esc>"], A::Back, "stop finding", true),
    bind(C::Find, &["<backspace>"], A::Backspace, "delete", false),
    bind(C::Details, &["k", "<up>"], A::Up, "scroll up", false),
    bind(C::Details, &["j", "<down>"], A::Down, "scroll down", false),
    bind(
        C::Details,
        &["<pgup>", "<C-u>"],
        A::PageUp,
        "page up",
        false,
    ),
    bind(
        C::Details,
        &["<pgdown>", "<C-d>", " "],
        A::PageDown,
        "page down",
        false,
    ),
    bind(C::Details, &["g", "<home>"], A::Top, "top", false),
    bind(C::Details, &["G", "<end>"], A::Bottom, "end", true),
    bind(C::Details, &["H"], A::Hint, "next hint", true),
    bind(
        C::Details,
        &["n"],
        A::Next,
        "next exercise (after a pass)",
        true,
    ),
    bind(C::Details, &["<esc>", "o", "q"], A::Back, "close", true),
    bind(
        C::Exercise,
        &["<tab>", ":", "i"],
        A::FocusConsole,
        "type in the console",
        true,
    ),
    bind(C::Exercise, &["c"], A::Check, "check", true),
    bind(
        C::Exercise,
        &["o", "<enter>"],
        A::Details,
        "checks, traces, hints, explanation in full",
        true,
    ),
    bind(C::Exercise, &["H"], A::Hint, "next hint", true),
    bind(
        C::Exercise,
        &["t"],
        A::Trace,
        "policy trace of the failed check",
        false,
    ),
    bind(
        C::Exercise,
        &["k", "<up>"],
        A::Up,
        "scroll instructions up",
        false,
    ),
    bind(
        C::Exercise,
        &["j", "<down>"],
        A::Down,
        "scroll instructions down",
        false,
    ),
    bind(
        C::Exercise,
        &["<pgup>"],
        A::OutputUp,
        "scroll console output up",
        false,
    ),
    bind(
        C::Exercise,
        &["<pgdown>"],
        A::OutputDown,
        "scroll console output down",
        false,
    ),
    bind(
        C::Exercise,
        &["x"],
        A::Reset,
        "reset the exercise (asks first)",
        false,
    ),
    bind(
        C::Exercise,
        &["s"],
        A::Shell,
        "your shell in the workspace",
        true,
    ),
    bind(
        C::Exercise,
        &["e"],
        A::Edit,
        "edit a workspace file in $EDITOR",
        false,
    ),
    bind(
        C::Exercise,
        &["n"],
        A::Next,
        "next exercise (after a pass)",
        false,
    ),
    bind(
        C::Exercise,
        &["<esc>", "h", "<left>"],
        A::Back,
        "back",
        true,
    ),
    bind(C::Console, &["<enter>"], A::Submit, "run the command", true),
    bind(
        C::Console,
        &["<esc>", "<S-tab>"],
        A::LeaveConsole,
        "leave the console",
        true,
    ),
    bind(C::Console, &["<tab>"], A::Complete, "complete", true),
    bind(
        C::Console,
        &["<up>"],
        A::HistoryUp,
        "previous command",
        false,
    ),
    bind(
        C::Console,
        &["<down>"],
        A::HistoryDown,
        "next command",
        false,
    ),
    bind(C::Console, &["<left>"], A::CursorLeft, "cursor left", false),
    bind(
        C::Console,
        &["<right>"],
        A::CursorRight,
        "cursor right",
        false,
    ),
    bind(C::Console, &["<backspace>"], A::Backspace, "delete", false),
    bind(
        C::Console,
        &["<home>", "<C-a>"],
        A::LineStart,
        "start of the line",
        false,
    ),
    bind(
        C::Console,
        &["<end>", "<C-e>"],
        A::LineEnd,
        "end of the line",
        false,
    ),
    bind(
        C::Console,
        &["<A-b>", "<C-left>"],
        A::WordLeft,
        "word left",
        false,
    ),
    bind(
        C::Console,
        &["<A-f>", "<C-right>"],
        A::WordRight,
        "word right",
        false,
    ),
    bind(
        C::Console,
        &["<del>", "<C-d>"],
        A::Delete,
        "delete under the cursor",
        false,
    ),
    bind(
        C::Console,
        &["<C-u>"],
        A::KillToStart,
        "delete to the start",
        false,
    ),
    bind(
        C::Console,
        &["<C-k>"],
        A::KillToEnd,
        "delete to the end",
        false,
    ),
    bind(
        C::Console,
        &["<C-w>"],
        A::KillWord,
        "delete the word before",
        false,
    ),
    bind(
        C::Console,
        &["<C-x>"],
        A::EditLine,
        "edit the command line in $EDITOR (long policies)",
        true,
    ),
    bind(C::Console, &["<F1>"], A::Help, "help", true),
    bind(
        C::Console,
        &["<F2>"],
        A::Details,
        "checks and hints in full",
        false,
    ),
    bind(
        C::Console,
        &["<pgup>"],
        A::OutputUp,
        "scroll output up",
        false,
    ),
    bind(
        C::Console,
        &["<pgdown>"],
        A::OutputDown,
        "scroll output down",
        false,
    ),
    bind(C::Console, &["<F5>"], A::Check, "check", true),
    bind(C::DrillMenu, &["k", "<up>"], A::Up, "up", false),
    bind(C::DrillMenu, &["j", "<down>"], A::Down, "down", false),
    bind(C::DrillMenu, &["g", "<home>"], A::Top, "first", false),
    bind(C::DrillMenu, &["G", "<end>"], A::Bottom, "last", false),
    bind(
        C::DrillMenu,
        &["<enter>", "l", "<right>"],
        A::Open,
        "start",
        true,
    ),
    bind(C::DrillMenu, &["r"], A::Readiness, "readiness", true),
    bind(
        C::DrillMenu,
        &["P"],
        A::PassFail,
        "exercise ratings: graded or pass/fail",
        false,
    ),
    bind(
        C::DrillMenu,
        &["<esc>", "h", "<left>"],
        A::Back,
        "course map",
        true,
    ),
    bind(C::Drill, &["a", "1"], A::Pick(0), "pick option a", false),
    bind(C::Drill, &["b", "2"], A::Pick(1), "pick option b", false),
    bind(C::Drill, &["c", "3"], A::Pick(2), "pick option c", false),
    bind(C::Drill, &["d", "4"], A::Pick(3), "pick option d", false),
    bind(C::Drill, &["e", "5"], A::Pick(4), "pick option e", false),
    bind(C::Drill, &["f", "6"], A::Pick(5), "pick option f", false),
    bind(C::Drill, &["k", "<up>"], A::Up, "option cursor up", false),
    bind(
        C::Drill,
        &["j", "<down>"],
        A::Down,
        "option cursor down",
        false,
    ),
    bind(
        C::Drill,
        &[" "],
        A::Toggle,
        "pick the option under the cursor",
        false,
    ),
    bind(
        C::Drill,
        &["<enter>"],
        A::Submit,
        "answer, then next question",
        true,
    ),
    bind(
        C::Drill,
        &["n"],
        A::Next,
        "next question (skips in the exam)",
        false,
    ),
    bind(
        C::Drill,
        &["p"],
        A::Previous,
        "previous question (exam)",
        false,
    ),
    bind(C::Drill, &["F"], A::HandIn, "hand the exam in", false),
    bind(C::Drill, &["<pgup>"], A::PageUp, "scroll up", false),
    bind(C::Drill, &["<pgdown>"], A::PageDown, "scroll down", false),
    bind(C::Drill, &["<esc>"], A::Back, "leave the round", true),
    bind(
        C::Readiness,
        &["<esc>", "h", "<left>"],
        A::Back,
        "course map",
        true,
    ),
    bind(
        C::Class,
        &["<tab>", "l", "<right>"],
        A::Next,
        "next tab",
        true,
    ),
    bind(
        C::Class,
        &["<S-tab>", "h", "<left>"],
        A::Previous,
        "previous tab",
        false,
    ),
    bind(C::Class, &["j", "<down>"], A::Down, "down", false),
    bind(C::Class, &["k", "<up>"], A::Up, "up", false),
    bind(C::Class, &["q", "<esc>"], A::Back, "leave", true),
    bind(C::Console, &["<C-c>"], A::Quit, "quit", false),
];

/// The binding of `key` in `context`; `Global` bindings apply everywhere except while typing.
pub fn resolve(context: Context, key: &str) -> Option<Action> {
    let find = |c: Context| {
        KEYMAP
            .iter()
            .find(|b| b.context == c && b.keys.contains(&key))
            .map(|b| b.action)
    };
    match context {
        Context::Console | Context::Filter | Context::Class | Context::Find => find(context),
        Context::Details => find(context).or_else(|| (key == "<C-c>").then_some(Action::Quit)),
        Context::Help => find(Context::Help).or_else(|| (key == "<C-c>").then_some(Action::Quit)),
        other => find(other).or_else(|| find(Context::Global)),
    }
}

/// The bindings shown for a context (its own, then the global ones).
pub fn bindings(context: Context) -> impl Iterator<Item = &'static Binding> {
    KEYMAP.iter().filter(move |b| {
        b.context == context
            || (b.context == Context::Global
                && !matches!(
                    context,
                    Context::Console
                        | Context::Filter
                        | Context::Help
                        | Context::Class
                        | Context::Find
                        | Context::Details
                ))
    })
}

/// The width of the keys column of the help overlay.
pub const HELP_KEYS_WIDTH: usize = 22;

/// The rows the help overlay takes at `width` for the screen `context`: a heading, a row per
/// binding (wrapped), a blank row and the closing line.
pub fn help_rows(context: Context, width: u16) -> usize {
    let width = usize::from(width.max(1));
    let bindings: usize = bindings(context)
        .map(|b| (HELP_KEYS_WIDTH + b.help.chars().count()).div_ceil(width))
        .sum();
    bindings + 3
}

/// How a key is written for people (help, status bar): `Space` for the space bar.
pub fn shown(key: &str) -> &str {
    match key {
        " " => "Space",
        other => other,
    }
}

/// The Vim-style name of a key event (`j`, `<C-c>`, `<enter>`).
pub fn key_name(key: &KeyEvent) -> String {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    let named = |n: &str| {
        if ctrl {
            format!("<C-{n}>")
        } else {
            format!("<{n}>")
        }
    };
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char(c) if ctrl => format!("<C-{}>", c.to_ascii_lowercase()),
        KeyCode::Char(c) if alt => format!("<A-{c}>"),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => named("enter"),
        KeyCode::Esc => named("esc"),
        KeyCode::Tab if shift => "<S-tab>".into(),
        KeyCode::BackTab => "<S-tab>".into(),
        KeyCode::Tab => named("tab"),
        KeyCode::Backspace => named("backspace"),
        KeyCode::Up => named("up"),
        KeyCode::Down => named("down"),
        KeyCode::Left => named("left"),
        KeyCode::Right => named("right"),
        KeyCode::Home => named("home"),
        KeyCode::End => named("end"),
        KeyCode::PageUp => named("pgup"),
        KeyCode::PageDown => named("pgdown"),
        KeyCode::Delete => named("del"),
        KeyCode::F(n) => format!("<F{n}>"),
        _ => "<unknown>".into(),
    }
}

/// Parses `"jj<enter>?<esc>"` into key events, for tests and scripted input.
pub fn parse_keys(keys: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut chars = keys.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '<' || chars.peek().is_none() {
            out.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
            continue;
        }
        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
        let (mods, base) = match name.split_once('-') {
            Some(("C", b)) => (KeyModifiers::CONTROL, b.to_string()),
            Some(("S", b)) => (KeyModifiers::SHIFT, b.to_string()),
            Some(("A", b)) => (KeyModifiers::ALT, b.to_string()),
            _ => (KeyModifiers::NONE, name.clone()),
        };
        let code = match base.as_str() {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" if mods == KeyModifiers::SHIFT => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" => KeyCode::PageUp,
            "pgdown" => KeyCode::PageDown,
            "del" => KeyCode::Delete,
            "lt" => KeyCode::Char('<'),
            f if f.starts_with('F') => KeyCode::F(f[1..].parse().unwrap_or(1)),
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
            _ => KeyCode::Null,
        };
        let mods = if code == KeyCode::BackTab {
            KeyModifiers::SHIFT
        } else {
            mods
        };
        out.push(KeyEvent::new(code, mods));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_contexts_resolve() {
        for keys in ["j", "<enter>", "<C-c>", "<S-tab>", "<F1>", "?", "<pgdown>"] {
            let parsed = parse_keys(keys);
            assert_eq!(parsed.len(), 1, "{keys}");
            assert_eq!(key_name(&parsed[0]), keys);
        }
        assert_eq!(resolve(Context::Map, "j"), Some(Action::Down));
        assert_eq!(resolve(Context::Map, "q"), Some(Action::Quit));
        assert_eq!(
            resolve(Context::Console, "q"),
            None,
            "q is typed in the console"
        );
        assert_eq!(resolve(Context::Console, "<C-c>"), Some(Action::Quit));
        assert_eq!(resolve(Context::Help, "x"), None);
        for b in KEYMAP {
            assert!(!b.help.is_empty());
            let clashes = KEYMAP
                .iter()
                .filter(|o| o.context == b.context && o.keys.iter().any(|k| b.keys.contains(k)))
                .count();
            assert_eq!(
                clashes, 1,
                "a key is bound twice in {:?}: {:?}",
                b.context, b.keys
            );
        }
    }
}
