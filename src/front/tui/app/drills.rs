//! Drills and the mock exam: the menu, a round's questions and answers, the clock and the
//! score.

use super::*;

/// An entry of the drill menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    /// A drill round.
    Round(Pick),
    /// The timed mock exam of this many questions (2 minutes each, the real exam's pace).
    Exam(usize),
}

/// The mock exam sizes the drill menu offers: a short one, the default, and the real exam's 65.
pub const EXAM_SIZES: &[usize] = &[10, 20, 65];

/// A drill round or mock exam in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillState {
    /// What it is, for the title.
    pub title: String,
    /// For a mock exam: when time is up.
    pub deadline: Option<DateTime<Utc>>,
    /// Question indexes into the pack.
    pub questions: Vec<usize>,
    /// The question shown.
    pub current: usize,
    /// The option the cursor is on.
    pub cursor: usize,
    /// For each question, the order its options are shown in (`order[k]` is the id of the
    /// option shown k-th).
    pub orders: Vec<Vec<usize>>,
    /// Option ids picked for each question.
    pub picked: Vec<Vec<usize>>,
    /// Answers submitted (in a drill, each is shown with the reasons at once).
    pub submitted: Vec<bool>,
    /// Scroll of the question pane.
    pub scroll: u16,
    /// Set when the round or exam is over.
    pub score: Option<Score>,
    /// After the end: the question opened from the review list, shown with its reasons.
    pub reviewing: Option<usize>,
}

impl DrillState {
    /// Whether this is the timed mock exam.
    pub fn is_exam(&self) -> bool {
        self.deadline.is_some()
    }

    /// Whether the current question's answer and reasons are shown.
    pub fn is_revealed(&self) -> bool {
        self.reviewing.is_some()
            || (!self.is_exam() && self.submitted.get(self.current).copied().unwrap_or(false))
    }

    /// The questions of the review at the end: every question of an exam, the answered ones of
    /// a drill round.
    pub fn reviewed(&self) -> Vec<usize> {
        (0..self.questions.len())
            .filter(|&i| self.is_exam() || self.submitted[i])
            .collect()
    }
}

/// Picks or unpicks an option; a single-answer question keeps only the last pick.
pub(super) fn toggle(picked: &mut Vec<usize>, option: usize, choose: usize) {
    if let Some(at) = picked.iter().position(|&p| p == option) {
        picked.remove(at);
        return;
    }
    if choose == 1 {
        picked.clear();
    }
    picked.push(option);
    picked.sort_unstable();
}

impl App {
    /// The drill menu: due, mixed, each lesson, each item, the mock exam.
    pub fn menu_entries(&self) -> Vec<MenuEntry> {
        let mut entries = vec![MenuEntry::Round(Pick::Due), MenuEntry::Round(Pick::Mixed)];
        entries.extend(
            self.pack
                .lessons
                .iter()
                .map(|l| MenuEntry::Round(Pick::Lesson(l.id.clone()))),
        );
        entries.extend(
            self.pack
                .objectives()
                .into_iter()
                .map(|o| MenuEntry::Round(Pick::Item(o.id))),
        );
        entries.extend(EXAM_SIZES.iter().map(|&n| MenuEntry::Exam(n)));
        entries
    }

    /// The questions a menu entry would draw from, and how many of them are due now.
    pub fn entry_counts(&self, entry: &MenuEntry) -> (usize, usize) {
        let deck = &self.progress.deck;
        let pick = match entry {
            MenuEntry::Round(pick) => pick,
            MenuEntry::Exam(_) => &Pick::Mixed,
        };
        let all: Vec<_> = self
            .pack
            .questions
            .iter()
            .filter(|q| pick.matches(q, deck, self.now))
            .collect();
        let due = all
            .iter()
            .filter(|q| deck.is_due(&question_card(&q.id), self.now))
            .count();
        (all.len(), due)
    }

    pub(super) fn act_menu(&mut self, action: Action) -> Vec<Effect> {
        let entries = self.menu_entries();
        let last = entries.len().saturating_sub(1);
        match action {
            Action::Up => self.menu = self.menu.saturating_sub(1),
            Action::Down => self.menu = (self.menu + 1).min(last),
            Action::Top => self.menu = 0,
            Action::Bottom => self.menu = last,
            Action::Back => self.go_back(),
            Action::Readiness => self.go_to(Screen::Readiness),
            Action::PassFail => {
                let deck = &mut self.progress.deck;
                deck.pass_fail = !deck.pass_fail;
                self.message = if deck.pass_fail {
                    "Exercise results now rate pass/fail only: Good or Again.".into()
                } else {
                    "Exercise results now rate Again, Hard, Good or Easy from failures, hints and time.".into()
                };
                return vec![Effect::SaveProgress];
            }
            Action::Open => {
                if let Some(entry) = entries.get(self.menu) {
                    self.start_drill(entry.clone());
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Starts a drill round or the mock exam.
    pub fn start_drill(&mut self, entry: MenuEntry) {
        let seed = self.progress.round_seed();
        let (title, questions, deadline) = match &entry {
            MenuEntry::Exam(size) => {
                let config = ExamConfig::new(Some(*size), None).expect("menu sizes are valid");
                (
                    format!(
                        "Mock exam: {} questions, {} minutes",
                        config.questions, config.minutes
                    ),
                    exam::pick(&self.pack, config.questions, seed),
                    Some(self.now + Duration::minutes(i64::from(config.minutes))),
                )
            }
            MenuEntry::Round(pick) => (
                format!("Drill: {}", pick.describe(&self.pack)),
                drill::questions(
                    &self.pack,
                    &self.progress.deck,
                    pick,
                    self.now,
                    ROUND_SIZE,
                    seed,
                ),
                None,
            ),
        };
        if questions.is_empty() {
            let exercises = self.exercises_due();
            self.message = if entry != MenuEntry::Round(Pick::Due) {
                "The pack has no questions here.".into()
            } else if exercises.is_empty() {
                "Nothing is due for review now: pick a module or an item.".into()
            } else {
                format!(
                    "No question is due; exercises due for review: {}.",
                    exercises.join(", ")
                )
            };
            return;
        }
        let n = questions.len();
        let orders = questions
            .iter()
            .map(|&i| {
                showing::next_order(
                    &self.progress.deck,
                    self.progress.seed,
                    &self.pack.questions[i],
                )
            })
            .collect();
        self.drill = Some(DrillState {
            title,
            deadline,
            questions,
            current: 0,
            cursor: 0,
            orders,
            picked: vec![Vec::new(); n],
            submitted: vec![false; n],
            scroll: 0,
            score: None,
            reviewing: None,
        });
        self.message.clear();
        self.screen = Screen::Drill;
    }

    pub(super) fn act_drill(&mut self, action: Action) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            self.screen = Screen::DrillMenu;
            return Vec::new();
        };
        if d.score.is_some() {
            let reviewed = d.reviewed();
            let at = reviewed.iter().position(|&i| i == d.current).unwrap_or(0);
            match (action, d.reviewing) {
                (Action::PageUp | Action::Up, Some(_)) | (Action::PageUp, None) => {
                    d.scroll = d.scroll.saturating_sub(5)
                }
                (Action::PageDown | Action::Down, Some(_)) | (Action::PageDown, None) => {
                    d.scroll = d.scroll.saturating_add(5)
                }
                (Action::Up, None) => d.current = reviewed[at.saturating_sub(1)],
                (Action::Down, None) => {
                    d.current = reviewed[(at + 1).min(reviewed.len().saturating_sub(1))]
                }
                (Action::Submit, None) if !reviewed.is_empty() => {
                    d.reviewing = Some(d.current);
                    d.scroll = 0;
                }
                (Action::Back | Action::Submit, Some(_)) => {
                    d.reviewing = None;
                    d.scroll = 0;
                }
                (Action::Back | Action::Submit | Action::Next, None) => {
                    self.drill = None;
                    self.screen = Screen::DrillMenu;
                }
                _ => {}
            }
            return Vec::new();
        }
        let q = &self.pack.questions[d.questions[d.current]];
        let options = q.options.len();
        let locked = d.is_revealed();
        let order = &d.orders[d.current];
        match action {
            Action::Pick(i) if !locked && (i as usize) < options => {
                d.cursor = i as usize;
                toggle(&mut d.picked[d.current], order[i as usize], q.choose);
            }
            Action::Toggle if !locked => {
                toggle(&mut d.picked[d.current], order[d.cursor], q.choose)
            }
            Action::Up => d.cursor = d.cursor.saturating_sub(1),
            Action::Down => d.cursor = (d.cursor + 1).min(options.saturating_sub(1)),
            Action::PageUp => d.scroll = d.scroll.saturating_sub(5),
            Action::PageDown => d.scroll = d.scroll.saturating_add(5),
            Action::Submit if locked => return self.next_question(),
            Action::Submit => return self.submit_answer(),
            Action::Next if !d.is_exam() && !locked => {
                self.message = "Answer first (Enter), or Esc to leave the round.".into();
            }
            Action::Next => return self.next_question(),
            Action::Previous if d.is_exam() && d.current > 0 => {
                d.current -= 1;
                d.cursor = 0;
                d.scroll = 0;
            }
            Action::HandIn if d.is_exam() => return self.finish_drill(),
            Action::Back if d.is_exam() => {
                self.confirm = Some(Confirm::LeaveExam);
                self.message = "Leave the exam without a score? y/n".into();
            }
            Action::Back => {
                let answered = d.submitted.iter().any(|s| *s);
                self.drill = None;
                self.screen = Screen::DrillMenu;
                if answered {
                    self.message = "Round left; your answers so far are saved.".into();
                }
            }
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn submit_answer(&mut self) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            return Vec::new();
        };
        let q = &self.pack.questions[d.questions[d.current]];
        let picked = &d.picked[d.current];
        if picked.len() != q.choose {
            self.message = format!("Choose {} (picked {}).", q.choose, picked.len());
            return Vec::new();
        }
        d.submitted[d.current] = true;
        if d.is_exam() {
            return self.next_question();
        }
        let right = q.is_right(picked);
        self.progress.deck.review_answer(
            &question_card(&q.id),
            answer_rating(right),
            self.now,
            "drill",
            Some(picked),
        );
        self.message = if right {
            "Right. Enter: next question.".into()
        } else {
            "Not right: read why for each option. Enter: next question.".into()
        };
        vec![Effect::SaveProgress]
    }

    pub(super) fn next_question(&mut self) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            return Vec::new();
        };
        self.message.clear();
        if d.current + 1 < d.questions.len() {
            d.current += 1;
            d.cursor = 0;
            d.scroll = 0;
            return Vec::new();
        }
        if d.is_exam() && d.submitted.iter().any(|s| !s) {
            self.message =
                "Last question. F hands the exam in (unanswered count as wrong), p goes back."
                    .into();
            return Vec::new();
        }
        self.finish_drill()
    }

    /// Ends the round or exam: scores it and, for an exam, reviews every question.
    pub(super) fn finish_drill(&mut self) -> Vec<Effect> {
        let Some(d) = self.drill.as_mut() else {
            return Vec::new();
        };
        let answers: Vec<(usize, Option<Vec<usize>>)> = d
            .questions
            .iter()
            .enumerate()
            .filter(|(i, _)| d.is_exam() || d.submitted[*i])
            .map(|(i, &q)| (q, d.submitted[i].then(|| d.picked[i].clone())))
            .collect();
        let score = exam::score(&self.pack, &answers);
        if d.is_exam() {
            exam::review(&self.pack, &mut self.progress.deck, &answers, self.now);
        }
        d.score = Some(score);
        d.scroll = 0;
        d.current = d.reviewed().first().copied().unwrap_or(0);
        vec![Effect::SaveProgress]
    }
}
