//! Drawing: reads the [`App`] and draws it; never changes it. Every style comes from the
//! theme's roles; marks and words carry state so nothing depends on colour alone.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Bar, BarChart, Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, DrillState, MenuEntry, OutputKind, Row, Screen};
use super::keymap;
use super::theme::Role;
use crate::lab::grader::Status;
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
    status_bar(app, frame, status);
    if app.help {
        help(app, frame, area);
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
    let first_row = lines.len();
    for (i, row) in rows.iter().enumerate() {
        let selected = i == app.selected;
        let line = match row {
            Row::Lesson(l) => {
                let lesson = &app.pack.lessons[*l];
                Line::from(vec![
                    Span::raw(if selected { "› " } else { "  " }),
                    Span::styled(
                        format!("{}. {}", lesson.order, lesson.title),
                        style(app, Role::Title),
                    ),
                    Span::styled(
                        format!("  [{}]", lesson.dea_items.join(" ")),
                        style(app, Role::Muted),
                    ),
                ])
            }
            Row::Exercise(id) => {
                let (mark, word) = app.mark(id);
                let title = app
                    .pack
                    .exercise(id)
                    .map(|x| x.spec.title.clone())
                    .unwrap_or_default();
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
    let inner_height = area.height.saturating_sub(2) as usize;
    let scroll = (first_row + app.selected + 1).saturating_sub(inner_height);
    let widget = Paragraph::new(lines)
        .block(block(app, "Course", true))
        .scroll((scroll as u16, 0));
    frame.render_widget(widget, area);
}

fn lesson(app: &App, frame: &mut Frame, area: Rect) {
    let Some(l) = app.pack.lessons.get(app.lesson) else {
        return;
    };
    let title = format!(
        "Lesson {} of {}: {}",
        app.lesson + 1,
        app.pack.lessons.len(),
        l.title
    );
    let mut lines = app.lesson_lines.clone();
    if !l.exercises.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(
            format!("Exercise: {} — press e to open it", l.exercises.join(", ")),
            style(app, Role::Accent),
        ));
    }
    let widget = Paragraph::new(Text::from(lines))
        .block(block(app, &title, true))
        .wrap(Wrap { trim: false })
        .scroll((app.lesson_scroll, 0));
    frame.render_widget(widget, area);
}

fn exercise(app: &App, frame: &mut Frame, area: Rect) {
    let Some(x) = &app.exercise else {
        return;
    };
    let direction = if area.width >= 100 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [left, right] = Layout::default()
        .direction(direction)
        .constraints([Constraint::Percentage(48), Constraint::Percentage(52)])
        .areas(area);
    let has_panel = x.results.is_some() || x.hints_shown > 0;
    let [instructions_area, panel_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Percentage(if has_panel { 45 } else { 0 }),
    ])
    .areas(left);

    let instructions = Paragraph::new(Text::from(x.instructions_lines.clone()))
        .block(block(app, &x.title, !x.typing))
        .wrap(Wrap { trim: false })
        .scroll((x.scroll, 0));
    frame.render_widget(instructions, instructions_area);
    if has_panel {
        frame.render_widget(results(app), panel_area);
    }
    console(app, frame, right);
}

fn results(app: &App) -> Paragraph<'_> {
    let x = app
        .exercise
        .as_ref()
        .expect("the exercise screen has an exercise");
    let mut lines: Vec<Line> = Vec::new();
    if let Some(results) = &x.results {
        for r in results {
            let (mark, word, role) = match r.status {
                Status::Pass => ("✓", "PASS", Role::Pass),
                Status::Fail => ("✗", "FAIL", Role::Fail),
                Status::Error => ("!", "ERROR", Role::Warn),
                Status::NotApplicable => ("–", "N/A", Role::Muted),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark} {word} "), style(app, role)),
                Span::raw(r.title.clone()),
            ]));
            if r.status != Status::Pass {
                lines.push(Line::styled(
                    format!("    {}", r.message),
                    style(app, Role::Muted),
                ));
            }
        }
        if x.passed() {
            lines.push(Line::default());
            for paragraph in x.explanation.trim().split("\n\n") {
                let joined = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
                lines.push(Line::styled(joined, style(app, Role::Pass)));
            }
            lines.push(Line::styled("n: next exercise", style(app, Role::Accent)));
        }
        if x.show_trace
            && let Some(trace) = results.iter().find_map(|r| r.trace.clone())
        {
            lines.push(Line::default());
            lines.push(Line::styled("Policy trace:", style(app, Role::Title)));
            lines.extend(trace.lines().map(|l| Line::raw(l.to_string())));
        }
    }
    for (i, hint) in x.hints.iter().take(x.hints_shown).enumerate() {
        lines.push(Line::styled(
            format!("Hint {} of {}: {}", i + 1, x.hints.len(), hint.trim()),
            style(app, Role::Warn),
        ));
    }
    Paragraph::new(lines)
        .block(block(app, "Checks", false))
        .wrap(Wrap { trim: false })
}

fn console(app: &App, frame: &mut Frame, area: Rect) {
    let x = app
        .exercise
        .as_ref()
        .expect("the exercise screen has an exercise");
    let title = format!("Console — {}", app.profile);
    let outer = block(app, &title, x.typing);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [out_area, input_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let height = out_area.height as usize;
    let width = (out_area.width as usize).max(1);
    let end = x.output.len().saturating_sub(x.output_scroll);
    let start = end.saturating_sub(height);
    let mut lines: Vec<Line> = Vec::new();
    for (kind, text) in &x.output[start..end] {
        let role = match kind {
            OutputKind::Command => Role::Command,
            OutputKind::Stdout => Role::Text,
            OutputKind::Stderr => Role::Fail,
            OutputKind::Info => Role::Muted,
        };
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            lines.push(Line::default());
        }
        for chunk in chars.chunks(width) {
            lines.push(Line::styled(
                chunk.iter().collect::<String>(),
                style(app, role),
            ));
        }
    }
    let lines = lines.split_off(lines.len().saturating_sub(height));
    frame.render_widget(Paragraph::new(lines), out_area);
    let prompt = if x.busy { "… " } else { "> " };
    let input = Line::from(vec![
        Span::styled(prompt, style(app, Role::Accent)),
        Span::raw(x.input.clone()),
    ]);
    frame.render_widget(Paragraph::new(input), input_area);
    if x.typing && !app.help {
        let cursor = input_area.x + 2 + x.cursor as u16;
        frame.set_cursor_position((
            cursor.min(input_area.right().saturating_sub(1)),
            input_area.y,
        ));
    }
}

fn status_bar(app: &App, frame: &mut Frame, area: Rect) {
    let context = app.context();
    let keys: Vec<String> = keymap::bindings(context)
        .filter(|b| b.status)
        .map(|b| format!("{} {}", b.keys[0], b.help))
        .collect();
    let mut left = format!(" {} · {}", app.backend, app.profile);
    if let Some(x) = &app.exercise
        && app.screen == Screen::Exercise
    {
        left.push_str(&format!(" · {}", x.id));
    }
    let text = if app.confirm.is_some() || !app.message.is_empty() {
        format!("{left} │ {}", app.message)
    } else {
        format!("{left} │ {}", keys.join("  "))
    };
    frame.render_widget(Paragraph::new(text).style(style(app, Role::Status)), area);
}

fn help(app: &App, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(4).min(76);
    let height = area.height.saturating_sub(2);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + 1,
        width,
        height,
    };
    let behind = app.screen_context();
    let mut lines = vec![Line::styled("Keys here", style(app, Role::Title))];
    for b in keymap::bindings(behind) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<22}", b.keys.join(" ")),
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
            .block(block(app, "Help", true))
            .wrap(Wrap { trim: false }),
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
                    "Module {}: {} ({total}, {due} due)",
                    lesson.map_or(0, |l| l.order),
                    lesson.map_or(id.as_str(), |l| l.title.as_str())
                )
            }
            MenuEntry::Round(Pick::Item(item)) => format!(
                "{item} {} ({total}, {due} due)",
                crate::pack::dea_item_title(item)
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
    let outer = block(
        app,
        "Readiness by DEA-C01 task 4.3 item — our estimate",
        true,
    );
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let table_height = rows.len() as u16 + 5;
    let [chart_area, table_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(table_height)]).areas(inner);
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
    let mut lines = vec![Line::styled(readiness::header(), style(app, Role::Title))];
    lines.extend(rows.iter().map(|r| Line::raw(readiness::row_text(r))));
    lines.push(Line::styled(
        format!(
            "Recall: the chance you remember an item's questions and exercises now (never seen = 0%). Overall {:.0}%.",
            readiness::overall(&rows) * 100.0
        ),
        style(app, Role::Muted),
    ));
    lines.push(Line::styled(ESTIMATE_NOTE, style(app, Role::Muted)));
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
