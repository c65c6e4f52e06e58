//! Drawing: reads the [`App`] and draws it; never changes it. Every style comes from the
//! theme's roles; marks and words carry state so nothing depends on colour alone.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Bar, BarChart, Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, DrillState, MenuEntry, OutputKind, Row, Screen};
use super::keymap;
use super::layout;
use super::theme::Role;
use crate::study::drill::Pick;
use crate::study::exam::ESTIMATE_NOTE;
use crate::study::exam::Score;
use crate::study::readiness;
use crate::study::showing::{letter, letters_of};
use crate::study::text::{option_mark, verdict};

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    match app.screen {
        Screen::Map => map(app, frame, main),
        Screen::Lesson => lesson(app, frame, main),
        Screen::Exercise => exercise(app, frame, main),
        Screen::DrillMenu => drill_menu(app, frame, main),
        Screen::Drill => drill(app, frame, main),
        Screen::Readiness => readiness(app, frame, main),
    }
    if app.screen == Screen::Exercise
        && let Some(scroll) = app.exercise.as_ref().and_then(|x| x.details)
    {
        details(app, frame, scroll);
    }
    status_bar(app, frame, status);
    if app.help {
        help(app, frame);
    }
    show_controls(frame.buffer_mut());
}

/// Replaces every control character a cell would send to the terminal with its visible
/// picture (`␛` for ESC, `�` for the rest), whatever text put it there: a pack, a backend's
/// answer, a workspace file shown in the console. The last pass of every frame.
pub fn show_controls(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        let symbol = cell.symbol();
        if !crate::sanitize::needs_escaping(symbol) && !symbol.contains(['\n', '\t']) {
            continue;
        }
        let shown: String = symbol
            .chars()
            .map(|c| match c {
                '\u{1b}' => '\u{241b}',
                c if crate::sanitize::needs_escaping(c.encode_utf8(&mut [0; 4])) => '\u{fffd}',
                '\n' | '\t' => ' ',
                c => c,
            })
            .collect();
        cell.set_symbol(&shown);
    }
}

fn style(app: &App, role: Role) -> Style {
    app.theme.style(role)
}

fn block<'a>(app: &App, title: &'a str, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(style(app, if focused { Role::Focus } else { Role::Border }))
        .title(Span::styled(format!(" {title} "), style(app, Role::Title)))
}

fn map(app: &App, frame: &mut Frame, area: Rect) {
    let rows = app.rows();
    let mut lines = Vec::new();
    let passed = app
        .pack
        .exercises
        .iter()
        .filter(|x| app.mark(&x.id).1 == "done")
        .count();
    lines.push(Line::from(vec![
        Span::styled(app.pack.manifest.title.clone(), style(app, Role::Title)),
        Span::styled(
            format!("   {passed}/{} exercises done", app.pack.exercises.len()),
            style(app, Role::Muted),
        ),
    ]));
    if app.filtering || !app.filter.is_empty() {
        lines.push(Line::styled(
            format!(
                "filter: {}{}",
                app.filter,
                if app.filtering { "▏" } else { "" }
            ),
            style(app, Role::Warn),
        ));
    }
    lines.push(Line::default());
    // The title, the count and the filter stay put; the rows below scroll.
    let header = std::mem::take(&mut lines);
    for (i, row) in rows.iter().enumerate() {
        let selected = i == app.selected;
        let line = match row {
            Row::Lesson(l) => {
                let lesson = &app.pack.lessons[*l];
                let room = (area.width as usize).saturating_sub(4);
                let title = fit(&format!("{}. {}", lesson.order, lesson.title), room);
                let items = format!("  [{}]", lesson.dea_items.join(" "));
                let mut spans = vec![
                    Span::raw(if selected { "› " } else { "  " }),
                    Span::styled(title.clone(), style(app, Role::Title)),
                ];
                if title.chars().count() + items.chars().count() <= room {
                    spans.push(Span::styled(items, style(app, Role::Muted)));
                }
                Line::from(spans)
            }
            Row::Exercise(id) => {
                let (mark, word) = app.mark(id);
                let title = app
                    .pack
                    .exercise(id)
                    .map(|x| x.spec.title.clone())
                    .unwrap_or_default();
                // Indent, mark, two spaces and the status word stay whole; the title gives way.
                let room =
                    (area.width as usize).saturating_sub(2 + 4 + 4 + 2 + word.chars().count());
                let title = fit(&title, room);
                let role = if word == "done" {
                    Role::Pass
                } else {
                    Role::Text
                };
                Line::from(vec![
                    Span::raw(if selected { "›   " } else { "    " }),
                    Span::styled(format!("[{mark}] "), style(app, role)),
                    Span::styled(title, style(app, Role::Text)),
                    Span::styled(format!("  {word}"), style(app, Role::Muted)),
                ])
            }
        };
        lines.push(if selected {
            line.style(style(app, Role::Selected))
        } else {
            line
        });
    }
    if rows.is_empty() {
        lines.push(Line::styled(
            "Nothing matches the filter.",
            style(app, Role::Muted),
        ));
    }
    let framed = block(app, "Course", true);
    let inner = framed.inner(area);
    frame.render_widget(framed, area);
    let header_height = (header.len() as u16).min(inner.height);
    let [top, below] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(header), top);
    let scroll = (app.selected + 1).saturating_sub(below.height as usize);
    frame.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), below);
}

fn lesson(app: &App, frame: &mut Frame, area: Rect) {
    let Some(l) = app.pack.lessons.get(app.lesson) else {
        return;
    };
    let mut title = format!(
        "Lesson {} of {}: {}",
        app.lesson + 1,
        app.pack.lessons.len(),
        l.title
    );
    if let Some(text) = &app.finding {
        title = format!("find: {text}▏");
    }
    let widget = Paragraph::new(Text::from(app.lesson_lines.clone()))
        .block(block(app, &title, true))
        .wrap(Wrap { trim: false })
        .scroll((app.lesson_scroll, 0));
    frame.render_widget(widget, area);
}

/// A text cut to `room` characters, ending in `…` when cut.
fn fit(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    let mut out: String = text.chars().take(room.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn exercise(app: &App, frame: &mut Frame, _area: Rect) {
    let Some(x) = &app.exercise else {
        return;
    };
    let has_panel = x.results.is_some() || x.hints_shown > 0;
    let areas = layout::exercise(app.size, has_panel);
    let instructions = Paragraph::new(Text::from(x.instructions_lines.clone()))
        .block(block(app, &x.title, !x.typing))
        .wrap(Wrap { trim: false })
        .scroll((x.scroll, 0));
    frame.render_widget(instructions, areas.instructions);
    if has_panel && areas.panel.height > 0 {
        frame.render_widget(results(app), areas.panel);
    }
    console(app, frame, areas.console);
}

/// The checks pane: the top of the details, and how to see all of them.
fn results(app: &App) -> Paragraph<'_> {
    let x = app
        .exercise
        .as_ref()
        .expect("the exercise screen has an exercise");
    Paragraph::new(x.details_lines.clone())
        .block(block(app, "Checks · o: in full", false))
        .wrap(Wrap { trim: false })
}

/// The checks, traces, hints and explanation full screen.
fn details(app: &App, frame: &mut Frame, scroll: u16) {
    let Some(x) = &app.exercise else {
        return;
    };
    let area = layout::overlay(app.size);
    frame.render_widget(Clear, area);
    let title = format!("{} · checks, hints, explanation · Esc closes", x.id);
    frame.render_widget(
        Paragraph::new(x.details_lines.clone())
            .block(block(app, &title, true))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

fn console(app: &App, frame: &mut Frame, area: Rect) {
    let x = app
        .exercise
        .as_ref()
        .expect("the exercise screen has an exercise");
    let title = format!("Console — {}", app.profile);
    frame.render_widget(block(app, &title, x.typing), area);
    let (out_area, input_area) = layout::console_parts(area);
    // Output wrapped at word boundaries, the newest at the bottom, scrolled back by rows.
    let lines: Vec<Line> = x
        .output
        .iter()
        .map(|(kind, text)| {
            let role = match kind {
                OutputKind::Command => Role::Command,
                OutputKind::Stdout => Role::Text,
                OutputKind::Stderr => Role::Fail,
                OutputKind::Info => Role::Muted,
            };
            Line::styled(text.clone(), style(app, role))
        })
        .collect();
    let rows = super::markdown::rows(&lines, out_area.width);
    let bottom = rows.saturating_sub(out_area.height as usize);
    let top = bottom.saturating_sub(x.output_scroll);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top.min(u16::MAX as usize) as u16, 0)),
        out_area,
    );
    // The input line scrolls sideways to keep the cursor in view.
    let prompt = if x.busy { "… " } else { "> " };
    let room = (input_area.width as usize).saturating_sub(3).max(1);
    let offset = x.cursor.saturating_sub(room);
    let visible: String = x.input.chars().skip(offset).take(room + 1).collect();
    let marker = if offset > 0 { "…" } else { prompt };
    let input = Line::from(vec![
        Span::styled(marker, style(app, Role::Accent)),
        Span::raw(if offset > 0 { " " } else { "" }),
        Span::raw(visible),
    ]);
    frame.render_widget(Paragraph::new(input), input_area);
    if x.typing && !app.help && x.details.is_none() {
        let cursor = input_area.x + 2 + (x.cursor - offset) as u16;
        frame.set_cursor_position((
            cursor.min(input_area.right().saturating_sub(1)),
            input_area.y,
        ));
    }
}

/// The status bar: where you are, then the message of this screen or as many key hints as fit,
/// in the keymap's order of importance, never cut mid-word.
fn status_bar(app: &App, frame: &mut Frame, area: Rect) {
    let width = area.width as usize;
    let mut left = format!(" {} · {}", app.backend, app.profile);
    if let Some(x) = &app.exercise
        && app.screen == Screen::Exercise
    {
        left = format!(" {} · {}", app.profile, x.id);
    }
    if width < 100 || app.screen != Screen::Exercise {
        left = match (&app.exercise, app.screen) {
            (Some(x), Screen::Exercise) => format!(" {}", x.id),
            _ => String::new(),
        };
    }
    // Which container LocalStack runs in, where there is room; its start-up, everywhere.
    if let Some(container) = &app.container
        && width >= 100
        && app.screen != Screen::Exercise
        && app.message.is_empty()
    {
        left = format!(" {container}");
    }
    if let Some((what, since)) = &app.backend_starting {
        let seconds = (app.now - *since).num_seconds().max(0);
        left = format!(" Starting {what}… {seconds} s");
    }
    let text = if app.confirm.is_some() || !app.message.is_empty() {
        let sep = if left.is_empty() { " " } else { " │ " };
        format!("{left}{sep}{}", app.message)
    } else {
        let mut text = left.clone();
        let mut sep = if left.is_empty() { " " } else { " │ " };
        for b in keymap::bindings(app.context()).filter(|b| b.status) {
            let hint = format!("{sep}{} {}", keymap::shown(b.keys[0]), b.help);
            if text.chars().count() + hint.chars().count() > width {
                continue;
            }
            text.push_str(&hint);
            sep = "  ";
        }
        text
    };
    frame.render_widget(
        Paragraph::new(fit(&text, width)).style(style(app, Role::Status)),
        area,
    );
}

fn help(app: &App, frame: &mut Frame) {
    let popup = layout::overlay(app.size);
    let behind = app.screen_context();
    let mut lines = vec![Line::styled("Keys here", style(app, Role::Title))];
    for b in keymap::bindings(behind) {
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "{:<width$}",
                    b.keys
                        .iter()
                        .map(|k| keymap::shown(k))
                        .collect::<Vec<_>>()
                        .join(" "),
                    width = keymap::HELP_KEYS_WIDTH
                ),
                style(app, Role::Accent),
            ),
            Span::raw(b.help),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        "Esc, ? or F1 closes this. Console commands: type help.",
        style(app, Role::Muted),
    ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block(app, "Help · j/k scroll · Esc closes", true))
            .wrap(Wrap { trim: false })
            .scroll((app.help_scroll, 0)),
        popup,
    );
}

fn drill_menu(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::styled(
            "Drill questions (each answer is rated for spaced repetition) or take a timed mock exam.",
            style(app, Role::Muted),
        ),
        Line::default(),
    ];
    let due_exercises = app.exercises_due();
    let entries = app.menu_entries();
    for (i, entry) in entries.iter().enumerate() {
        let (total, due) = app.entry_counts(entry);
        let label = match entry {
            MenuEntry::Round(Pick::Due) => format!("Due for review: {due} questions"),
            MenuEntry::Round(Pick::Mixed) => format!("Mixed round ({total} questions, {due} due)"),
            MenuEntry::Round(Pick::Lesson(id)) => {
                let lesson = app.pack.lessons.iter().find(|l| &l.id == id);
                format!(
                    "Lesson {}: {} ({total}, {due} due)",
                    lesson.map_or(0, |l| l.order),
                    lesson.map_or(id.as_str(), |l| l.title.as_str())
                )
            }
            MenuEntry::Round(Pick::Item(item)) => format!(
                "{item} {} ({total}, {due} due)",
                app.pack.objective_title(item)
            ),
            MenuEntry::Exam(size) => format!(
                "Mock exam: {size} questions in {} minutes (the exam's pace)",
                (*size as u32 * crate::study::exam::SECONDS_PER_QUESTION).div_ceil(60)
            ),
        };
        let selected = i == app.menu;
        let line = Line::from(vec![
            Span::raw(if selected { "› " } else { "  " }),
            Span::styled(label, style(app, Role::Text)),
        ]);
        lines.push(if selected {
            line.style(style(app, Role::Selected))
        } else {
            line
        });
        if matches!(entry, MenuEntry::Round(Pick::Mixed)) || i + 2 == entries.len() {
            lines.push(Line::default());
        }
    }
    if !due_exercises.is_empty() {
        lines.push(Line::styled(
            format!(
                "Exercises due for review (↻ on the course map): {}",
                due_exercises.join(", ")
            ),
            style(app, Role::Warn),
        ));
    }
    let inner_height = area.height.saturating_sub(2) as usize;
    let scroll = (app.menu + 4).saturating_sub(inner_height);
    let widget = Paragraph::new(lines)
        .block(block(app, "Drill", true))
        .wrap(Wrap { trim: false })
        .scroll((scroll as u16, 0));
    frame.render_widget(widget, area);
}

fn drill(app: &App, frame: &mut Frame, area: Rect) {
    let Some(d) = &app.drill else {
        return;
    };
    let mut title = d.title.clone();
    if let (Some(deadline), None) = (d.deadline, &d.score) {
        let left = (deadline - app.now).num_seconds().max(0);
        title.push_str(&format!(" · {}:{:02} left", left / 60, left % 60));
    }
    let mut lines: Vec<Line> = Vec::new();
    match (&d.score, d.reviewing) {
        (Some(score), None) => review_list(app, d, score, &mut lines),
        (_, Some(i)) => question_lines(app, d, i, &mut lines),
        (None, None) => {
            title.push_str(&format!(" · {} of {}", d.current + 1, d.questions.len()));
            question_lines(app, d, d.current, &mut lines);
        }
    }
    let widget = Paragraph::new(lines)
        .block(block(app, &title, true))
        .wrap(Wrap { trim: false })
        .scroll((d.scroll, 0));
    frame.render_widget(widget, area);
}

fn readiness(app: &App, frame: &mut Frame, area: Rect) {
    let rows = app.progress.readiness(&app.pack, app.now);
    let dea = app
        .pack
        .objectives()
        .iter()
        .map(|o| o.id.as_str())
        .eq(crate::pack::DEA_ITEMS.iter().copied());
    let title = if dea {
        "Readiness by DEA-C01 task 4.3 item — our estimate"
    } else {
        "Readiness by objective — our estimate"
    };
    let outer = block(app, title, true);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    // The table first: one row per item (cut to the width, never wrapped), then the notes.
    let width = usize::from(inner.width);
    let mut lines = vec![Line::styled(
        fit(&readiness::header(), width),
        style(app, Role::Title),
    )];
    lines.extend(
        rows.iter()
            .map(|r| Line::raw(fit(&readiness::row_text(r), width))),
    );
    lines.push(Line::styled(
        format!(
            "Recall: the chance you remember an item's questions and exercises now (never seen = 0%). Overall {:.0}%.",
            readiness::overall(&rows) * 100.0
        ),
        style(app, Role::Muted),
    ));
    lines.push(Line::styled(ESTIMATE_NOTE, style(app, Role::Muted)));
    let table_height = (super::markdown::rows(&lines, inner.width) as u16).min(inner.height);
    // The chart takes what is left, up to ten rows; below four it would say nothing.
    let chart_height = inner.height.saturating_sub(table_height + 1).min(10);
    let [chart_area, _, table_area] = Layout::vertical([
        Constraint::Length(if chart_height >= 4 { chart_height } else { 0 }),
        Constraint::Length(u16::from(chart_height >= 4)),
        Constraint::Min(0),
    ])
    .areas(inner);
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| {
            let percent = (r.recall * 100.0).round() as u64;
            Bar::with_label(r.item.trim_start_matches("4.3.").to_string(), percent)
                .text_value(format!("{percent}%"))
        })
        .collect();
    let chart = BarChart::vertical(bars)
        .max(100)
        .bar_width(5)
        .bar_gap(2)
        .bar_style(style(app, Role::Accent))
        .value_style(style(app, Role::Selected))
        .label_style(style(app, Role::Title));
    frame.render_widget(chart, chart_area);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), table_area);
}

/// The end of a round or exam: the score, then every reviewed question (stem, your answer,
/// the answer), one selected to open with Enter.
fn review_list(app: &App, d: &DrillState, score: &Score, lines: &mut Vec<Line<'static>>) {
    if d.is_exam() {
        for (i, line) in score.to_lines().into_iter().enumerate() {
            let role = if i == 0 { Role::Title } else { Role::Text };
            lines.push(Line::styled(line, style(app, role)));
        }
    } else {
        lines.push(Line::styled(
            format!(
                "Round over: {} of {} right. Wrong answers come back for review soon.",
                score.right, score.total
            ),
            style(app, Role::Title),
        ));
    }
    lines.push(Line::default());
    for i in d.reviewed() {
        let q = &app.pack.questions[d.questions[i]];
        let order = &d.orders[i];
        let right = d.submitted[i] && q.is_right(&d.picked[i]);
        let (mark, role) = if right {
            ("✓ right ", Role::Pass)
        } else {
            ("✗ missed", Role::Fail)
        };
        let yours = if d.submitted[i] {
            letters_of(order, &d.picked[i])
        } else {
            "none".to_string()
        };
        let cursor = if i == d.current { "›" } else { " " };
        let line = Line::from(vec![
            Span::styled(format!("{cursor} {mark} "), style(app, role)),
            Span::raw(format!(
                "{} (you: {yours}; answer: {})",
                q.stem.split_whitespace().collect::<Vec<_>>().join(" "),
                letters_of(order, &q.correct_options())
            )),
        ]);
        lines.push(if i == d.current {
            line.style(style(app, Role::Selected))
        } else {
            line
        });
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        "j/k: choose · Enter: open with every option's reason · Esc: drill menu",
        style(app, Role::Accent),
    ));
}

/// Question `i` of the round: to answer, or (answered in a drill, or opened from the review)
/// with the verdict and every option's reason, in the order it was shown.
fn question_lines(app: &App, d: &DrillState, i: usize, lines: &mut Vec<Line<'static>>) {
    let q = &app.pack.questions[d.questions[i]];
    let order = &d.orders[i];
    if !d.is_exam() || d.reviewing.is_some() {
        lines.push(Line::styled(
            format!("{} · lesson {}", q.item, q.lesson),
            style(app, Role::Muted),
        ));
    }
    for paragraph in q.stem.trim().split("\n\n") {
        lines.push(Line::raw(
            paragraph.split_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
    lines.push(Line::default());
    let revealed = d.is_revealed();
    let picked = &d.picked[i];
    if revealed {
        let role = if q.is_right(picked) {
            Role::Pass
        } else {
            Role::Fail
        };
        lines.push(Line::styled(verdict(q, order, picked), style(app, role)));
    }
    for (k, &id) in order.iter().enumerate() {
        let option = &q.options[id];
        let is_picked = picked.contains(&id);
        let text = option.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if revealed {
            let mark = option_mark(option.correct, is_picked);
            let role = match (option.correct, is_picked) {
                (true, _) => Role::Pass,
                (false, true) => Role::Fail,
                (false, false) => Role::Muted,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{}) {mark}: ", letter(k)), style(app, role)),
                Span::raw(text),
            ]));
            lines.push(Line::styled(
                format!(
                    "   {}",
                    option.why.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
                style(app, Role::Muted),
            ));
            continue;
        }
        let cursor = if k == d.cursor { "›" } else { " " };
        let boxed = if is_picked { "[x]" } else { "[ ]" };
        let line = Line::from(vec![
            Span::styled(
                format!("{cursor} {boxed} {}) ", letter(k)),
                style(app, Role::Accent),
            ),
            Span::raw(text),
        ]);
        lines.push(if is_picked {
            line.style(style(app, Role::Selected))
        } else {
            line
        });
    }
    lines.push(Line::default());
    let last = letter(order.len().saturating_sub(1));
    let how = if d.reviewing.is_some() {
        "Esc: back to the review list".to_string()
    } else if revealed {
        "Enter: next question".to_string()
    } else if d.is_exam() {
        format!("a-{last} pick · Enter answer and go on · n skip · p back · F hand in")
    } else {
        let count = ["", "one", "two", "three"][q.choose.min(3)];
        format!("a-{last} pick {count} · Enter answer")
    };
    lines.push(Line::styled(how, style(app, Role::Accent)));
}
