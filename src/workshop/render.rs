//! The class as text tables, as CSV (long: one row per learner and exercise; wide: one row
//! per learner and one column per exercise, for spreadsheets and LMS gradebooks). Every CSV
//! cell is made safe to open in a spreadsheet ([`crate::sanitize::csv_cell`]); the text is
//! sanitised where it is printed.

use super::class::{Class, EXERCISE_COLUMNS, LEARNER_COLUMNS, LearnerExercise, LearnerRow};

/// The long CSV's columns.
pub const CSV_COLUMNS: [&str; 14] = [
    "learner",
    "key",
    "exercise",
    "status",
    "attempts",
    "hints",
    "minutes",
    "first_opened",
    "passed_at",
    "failing_checks",
    "known_mistakes",
    "pass_shown_by",
    "file",
    "note",
];

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Class {
    /// The class as text tables.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Workshop {} · pack {} ({}…) · {} accepted, {} superseded, {} rejected\n\n",
            self.workshop.as_deref().unwrap_or("-"),
            self.pack,
            &self.pack_hash[..12.min(self.pack_hash.len())],
            plural(self.learners.len(), "result", "results"),
            self.superseded.len(),
            self.rejected.len()
        );
        let learner_line = |c: &[String; 6]| {
            format!(
                "{:<20} {:>6} {:>11} {:>5}  {:<26} {}\n",
                c[0], c[1], c[2], c[3], c[4], c[5]
            )
        };
        out.push_str(&learner_line(&LEARNER_COLUMNS.map(String::from)));
        for l in &self.learners {
            out.push_str(&learner_line(&l.cells()));
        }
        let exercise_line = |c: &[String; 8]| {
            format!(
                "{:<26} {:>6} {:>6} {:>6} {:>6} {:>8} {:>7}  {}\n",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
            )
        };
        out.push('\n');
        out.push_str(&exercise_line(&EXERCISE_COLUMNS.map(String::from)));
        for x in &self.exercises {
            out.push_str(&exercise_line(&x.cells()));
        }
        self.who_is_where(&mut out);
        if !self.mistakes.is_empty() {
            out.push_str(
                "\nKnown mistakes (failing checks exactly those a known-wrong variant trips):\n",
            );
            for m in &self.mistakes {
                let checks: Vec<String> = m
                    .checks
                    .iter()
                    .map(|c| format!("#{}", c.index + 1))
                    .collect();
                out.push_str(&format!(
                    "  {} `{}` (fails {}): {} at some attempt{}\n",
                    m.exercise,
                    m.variant,
                    checks.join(", "),
                    m.ever,
                    if m.now.is_empty() {
                        String::new()
                    } else {
                        format!("; now: {}", m.now.join(", "))
                    }
                ));
            }
        }
        if !self.checks.is_empty() {
            out.push_str("\nChecks learners failed (at any attempt after the starting state):\n");
            for c in &self.checks {
                out.push_str(&format!(
                    "{:>3}/{:<3} {} #{}: {}{}\n",
                    c.learners,
                    self.learners.len(),
                    c.exercise,
                    c.index + 1,
                    c.title,
                    if c.misconception.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", c.misconception.trim())
                    }
                ));
            }
        }
        self.notes(&mut out);
        out
    }

    /// Per exercise, the learners on it now and how they stand.
    fn who_is_where(&self, out: &mut String) {
        let on: Vec<(&LearnerRow, &LearnerExercise)> = self
            .learners
            .iter()
            .filter_map(|l| l.working_on.as_ref().map(|w| (l, w)))
            .collect();
        if on.is_empty() {
            return;
        }
        out.push_str("\nWho is on which exercise now:\n");
        for x in &self.exercises {
            let here: Vec<_> = on.iter().filter(|(_, w)| w.id == x.id).collect();
            if here.is_empty() {
                continue;
            }
            out.push_str(&format!("  {}\n", x.id));
            for (l, w) in here {
                out.push_str(&format!("    {:<20} {}\n", l.learner, w.summary()));
                for c in &w.failing {
                    out.push_str(&format!("      failing #{}: {}\n", c.index + 1, c.title));
                }
            }
        }
    }

    fn notes(&self, out: &mut String) {
        let noted: Vec<&LearnerRow> = self
            .learners
            .iter()
            .filter(|l| !l.notes.is_empty() || !l.unverified.is_empty())
            .collect();
        if !noted.is_empty() {
            out.push_str("\nNotes (accepted, but look):\n");
            for l in noted {
                for note in &l.notes {
                    out.push_str(&format!("  {}: {note}\n", l.file));
                }
                if !l.unverified.is_empty() {
                    out.push_str(&format!(
                        "  {}: passed on trust (no check can be re-run from a file): {}\n",
                        l.file,
                        l.unverified.join(", ")
                    ));
                }
            }
        }
        if !self.superseded.is_empty() {
            out.push_str("\nSuperseded (the same learner handed in again; the latest counts):\n");
            for s in &self.superseded {
                out.push_str(&format!(
                    "  {}: submitted {}, replaced by {}\n",
                    s.file,
                    s.submitted_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    s.by
                ));
            }
        }
        if !self.rejected.is_empty() {
            out.push_str("\nRejected:\n");
            for r in &self.rejected {
                out.push_str(&format!("  {}: {}\n", r.file, r.reason));
            }
        }
    }

    /// One CSV row per learner and exercise opened (status `passed`, `working on` for the one
    /// they checked last, or `not passed`), then one per superseded and rejected file.
    pub fn to_csv(&self) -> String {
        use crate::sanitize::csv_cell;
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(CSV_COLUMNS);
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        for l in &self.learners {
            for x in &l.exercises {
                let working = l.working_on.as_ref().is_some_and(|w| w.id == x.id);
                let status = match (x.passed, working) {
                    (true, _) => "passed",
                    (false, true) => "working on",
                    (false, false) => "not passed",
                };
                let failing: Vec<String> = x
                    .failing
                    .iter()
                    .map(|c| format!("#{} {}", c.index + 1, c.title))
                    .collect();
                let row = [
                    l.learner.clone(),
                    l.key.clone(),
                    x.id.clone(),
                    status.into(),
                    x.attempts.to_string(),
                    x.hints.to_string(),
                    x.minutes.map(|m| format!("{m:.0}")).unwrap_or_default(),
                    time(x.first_opened_at),
                    x.passed_at.clone().unwrap_or_default(),
                    failing.join("; "),
                    x.known_mistakes.join("; "),
                    x.pass_shown_by.clone(),
                    l.file.clone(),
                    if x.starting_state {
                        "starting state: not begun".into()
                    } else {
                        String::new()
                    },
                ];
                let _ = w.write_record(row.iter().map(|c| csv_cell(c).into_owned()));
            }
        }
        let file_row = |file: &str, status: &str, note: &str| {
            let mut row = vec![String::new(); CSV_COLUMNS.len()];
            row[3] = status.into();
            row[12] = csv_cell(file).into_owned();
            row[13] = csv_cell(note).into_owned();
            row
        };
        for s in &self.superseded {
            let _ = w.write_record(file_row(
                &s.file,
                "superseded",
                &format!("replaced by {}", s.by),
            ));
        }
        for r in &self.rejected {
            let _ = w.write_record(file_row(&r.file, "rejected", &r.reason));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// One CSV row per learner, one column per exercise of the course (`passed`, `in progress`
    /// or empty when not opened), with the count passed, the share in percent and what they
    /// are working on: the layout spreadsheets and LMS gradebooks import.
    pub fn to_csv_wide(&self) -> String {
        use crate::sanitize::csv_cell;
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ["learner", "key", "passed", "percent"]
            .map(String::from)
            .to_vec();
        header.extend(self.course.iter().cloned());
        header.extend(["working_on", "known_mistakes", "file"].map(String::from));
        let _ = w.write_record(header.iter().map(|c| csv_cell(c).into_owned()));
        let total = self.course.len().max(1);
        for l in &self.learners {
            let mut row = vec![
                l.learner.clone(),
                l.key.clone(),
                l.passed.len().to_string(),
                format!("{:.0}", 100.0 * l.passed.len() as f64 / total as f64),
            ];
            for id in &self.course {
                row.push(match l.exercises.iter().find(|x| &x.id == id) {
                    Some(x) if x.passed => "passed".into(),
                    Some(_) => "in progress".into(),
                    None => String::new(),
                });
            }
            let working = l.working_on.as_ref();
            row.push(working.map(|x| x.id.clone()).unwrap_or_default());
            row.push(
                working
                    .map(|x| x.known_mistakes.join("; "))
                    .unwrap_or_default(),
            );
            row.push(l.file.clone());
            let _ = w.write_record(row.iter().map(|c| csv_cell(c).into_owned()));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
