//! The lesson reader: rendering a lesson for the theme and width, paging by wrapped rows,
//! finding a text (`/`), and its keys.

use super::*;

impl App {
    /// Renders the lesson (and the open exercise's instructions) for the theme and the width
    /// they are drawn at; the lesson ends with its exercises and how to open them.
    pub(super) fn render_lesson(&mut self) {
        let theme = self.theme;
        let width = self.instructions_width();
        if let Some(x) = self.exercise.as_mut() {
            x.instructions_lines = markdown::render(&x.instructions, theme, width);
        }
        let width = self.lesson_width();
        let Some(lesson) = self.pack.lessons.get(self.lesson) else {
            self.lesson_lines = Vec::new();
            return;
        };
        let mut lines = markdown::render(&lesson.body_with_sources(), theme, width);
        if !lesson.exercises.is_empty() {
            lines.push(Line::default());
            let names: Vec<String> = lesson
                .exercises
                .iter()
                .map(|id| format!("{id} [{}]", self.mark(id).1))
                .collect();
            lines.push(Line::styled(
                format!(
                    "Exercises: {} — e opens the next one to do",
                    names.join(", ")
                ),
                theme.style(crate::front::tui::theme::Role::Accent),
            ));
        }
        self.lesson_lines = lines;
    }

    pub(super) fn open_lesson(&mut self, index: usize) {
        self.lesson = index;
        self.lesson_scroll = 0;
        self.go_to(Screen::Lesson);
        self.render_lesson();
    }

    /// Shows another lesson in the reader without changing where Esc goes.
    fn switch_lesson(&mut self, index: usize) {
        self.lesson = index;
        self.lesson_scroll = 0;
        self.message.clear();
        self.render_lesson();
    }

    /// The lesson's first exercise not yet done (or its first).
    fn next_exercise_of_lesson(&self) -> Option<String> {
        let lesson = self.pack.lessons.get(self.lesson)?;
        lesson
            .exercises
            .iter()
            .find(|id| self.mark(id).1 != "done")
            .or_else(|| lesson.exercises.first())
            .cloned()
    }

    /// Scrolls to the next row at or after the current one that holds `text` (case-insensitive);
    /// wraps around to the top.
    fn find(&mut self, text: &str) {
        let needle = text.to_lowercase();
        if needle.is_empty() {
            return;
        }
        let width = self.lesson_width();
        let mut row = 0usize;
        let mut hits = Vec::new();
        for line in &self.lesson_lines {
            if line.to_string().to_lowercase().contains(&needle) {
                hits.push(row);
            }
            row += markdown::rows(std::slice::from_ref(line), width).max(1);
        }
        let from = self.lesson_scroll as usize + 1;
        let Some(&hit) = hits.iter().find(|&&r| r >= from).or(hits.first()) else {
            self.message = format!("\"{text}\" is not in this lesson.");
            return;
        };
        self.lesson_scroll = (hit as u16).min(self.lesson_max_scroll());
        self.message = format!(
            "\"{text}\": {} places; / and Enter finds the next.",
            hits.len()
        );
    }

    pub(super) fn act_lesson(&mut self, context: Context, action: Action) -> Vec<Effect> {
        if context == Context::Find {
            match action {
                Action::Submit => {
                    let text = self.finding.take().unwrap_or_default();
                    self.find(&text);
                    self.last_find = text;
                }
                Action::Backspace => {
                    if let Some(t) = self.finding.as_mut() {
                        t.pop();
                    }
                }
                _ => self.finding = None,
            }
            return Vec::new();
        }
        let max = self.lesson_max_scroll();
        let page = self.page();
        if super::navigation::scroll(&mut self.lesson_scroll, action, page, max) {
            return Vec::new();
        }
        match action {
            Action::Find => self.finding = Some(self.last_find.clone()),
            Action::Next if self.lesson + 1 < self.pack.lessons.len() => {
                self.switch_lesson(self.lesson + 1)
            }
            Action::Previous if self.lesson > 0 => self.switch_lesson(self.lesson - 1),
            Action::Back => self.go_back(),
            Action::ToExercise => match self.next_exercise_of_lesson() {
                Some(id) => return self.open_exercise(&id),
                None => self.message = "This lesson has no exercise.".into(),
            },
            _ => {}
        }
        Vec::new()
    }
}
