//! The course map: its rows (lessons and their exercises, filtered), each exercise's mark,
//! and its keys.

use super::*;

impl App {
    /// The course map's rows after the filter.
    pub fn rows(&self) -> Vec<Row> {
        let filter = self.filter.to_lowercase();
        let mut rows = Vec::new();
        for (i, lesson) in self.pack.lessons.iter().enumerate() {
            let exercises: Vec<&String> = lesson
                .exercises
                .iter()
                .filter(|id| {
                    filter.is_empty()
                        || id.contains(&filter)
                        || self
                            .pack
                            .exercise(id)
                            .is_some_and(|x| x.spec.title.to_lowercase().contains(&filter))
                })
                .collect();
            let lesson_matches = filter.is_empty() || lesson.title.to_lowercase().contains(&filter);
            if lesson_matches || !exercises.is_empty() {
                rows.push(Row::Lesson(i));
                rows.extend(exercises.into_iter().map(|id| Row::Exercise(id.clone())));
            }
        }
        rows
    }

    /// The mark and words of an exercise: due for review, done, started or new.
    pub fn mark(&self, id: &str) -> (&'static str, &'static str) {
        let state = course::state_of(&self.progress, id, self.now);
        (state.mark(), state.word())
    }

    pub(super) fn act_map(&mut self, action: Action) -> Vec<Effect> {
        let rows = self.rows();
        let last = rows.len().saturating_sub(1);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = last,
            Action::Filter => {
                self.filtering = true;
                self.filter.clear();
            }
            Action::Back => self.filtering = false,
            Action::Drill => {
                self.menu = 0;
                self.go_to(Screen::DrillMenu);
            }
            Action::Readiness => self.go_to(Screen::Readiness),
            Action::Backspace => {
                self.filter.pop();
                self.selected = 0;
            }
            Action::Open => match rows.get(self.selected) {
                Some(Row::Lesson(i)) => self.open_lesson(*i),
                Some(Row::Exercise(id)) => {
                    let id = id.clone();
                    return self.open_exercise(&id);
                }
                None => {}
            },
            _ => {}
        }
        Vec::new()
    }

    /// Exercises passed and due for review now.
    pub fn exercises_due(&self) -> Vec<String> {
        self.pack
            .exercises
            .iter()
            .filter(|x| self.mark(&x.id).1 == "due for review")
            .map(|x| x.id.clone())
            .collect()
    }
}
