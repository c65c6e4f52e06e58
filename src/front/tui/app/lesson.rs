//! The lesson reader: rendering a lesson once per theme, paging, and its keys.

use super::*;

impl App {
    pub(super) fn render_lesson(&mut self) {
        let theme = self.theme;
        if let Some(x) = self.exercise.as_mut() {
            x.instructions_lines = markdown::render(&x.instructions, theme);
        }
        self.lesson_lines = self
            .pack
            .lessons
            .get(self.lesson)
            .map(|l| markdown::render(&l.body, self.theme))
            .unwrap_or_default();
    }

    pub(super) fn page(&self) -> u16 {
        self.size.1.saturating_sub(4).max(1)
    }

    pub(super) fn open_lesson(&mut self, index: usize) {
        self.lesson = index;
        self.lesson_scroll = 0;
        self.screen = Screen::Lesson;
        self.render_lesson();
    }

    pub(super) fn act_lesson(&mut self, action: Action) -> Vec<Effect> {
        let max = (self.lesson_lines.len() as u16).saturating_sub(1);
        let page = self.page();
        match action {
            Action::Up => self.lesson_scroll = self.lesson_scroll.saturating_sub(1),
            Action::Down => self.lesson_scroll = (self.lesson_scroll + 1).min(max),
            Action::PageUp => self.lesson_scroll = self.lesson_scroll.saturating_sub(page),
            Action::PageDown => self.lesson_scroll = (self.lesson_scroll + page).min(max),
            Action::Top => self.lesson_scroll = 0,
            Action::Bottom => self.lesson_scroll = max,
            Action::Next if self.lesson + 1 < self.pack.lessons.len() => {
                self.open_lesson(self.lesson + 1)
            }
            Action::Previous if self.lesson > 0 => self.open_lesson(self.lesson - 1),
            Action::Back => self.screen = Screen::Map,
            Action::ToExercise => {
                let first = self.pack.lessons[self.lesson].exercises.first().cloned();
                match first {
                    Some(id) => return self.open_exercise(&id),
                    None => self.message = "This lesson has no exercise.".into(),
                }
            }
            _ => {}
        }
        Vec::new()
    }
}
