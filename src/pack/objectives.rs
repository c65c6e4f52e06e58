//! The pack's objectives: what its lessons, exercises and questions are tagged with, and what
//! coverage, readiness, drills and the mock exam are counted by. `pack.toml` declares them
//! (`[[objectives]]` with `id` and `title`); a pack that declares none teaches DEA-C01 task
//! 4.3's eight items, as packs did before objectives could be declared. The lint here checks
//! the declaration (ids unique and without spaces, titles present) and that every tag names a
//! declared objective.

use std::collections::BTreeSet;

use super::{
    DEA_ITEMS, Exercise, Lesson, Manifest, Objective, PackError, PackFiles, Question,
    dea_item_title,
};

impl Manifest {
    /// The objectives declared, or DEA-C01 task 4.3's items when none are.
    pub fn objectives(&self) -> Vec<Objective> {
        if !self.objectives.is_empty() {
            return self.objectives.clone();
        }
        DEA_ITEMS
            .iter()
            .map(|&id| Objective {
                id: id.to_string(),
                title: dea_item_title(id).to_string(),
            })
            .collect()
    }
}

impl super::Pack {
    /// The pack's objectives, in order ([`Manifest::objectives`]).
    pub fn objectives(&self) -> Vec<Objective> {
        self.manifest.objectives()
    }

    /// An objective's title (empty for an id the pack does not declare).
    pub fn objective_title(&self, id: &str) -> String {
        self.objectives()
            .into_iter()
            .find(|o| o.id == id)
            .map(|o| o.title)
            .unwrap_or_default()
    }

    /// The objective an id a learner typed names: the id itself, or the one id that ends
    /// with `.ID` (case aside): `K1` names `4.3.K1`.
    pub fn find_objective(&self, typed: &str) -> Option<String> {
        let all = self.objectives();
        if let Some(o) = all.iter().find(|o| o.id == typed) {
            return Some(o.id.clone());
        }
        let tail = format!(".{}", typed.to_ascii_uppercase());
        let found: Vec<&Objective> = all
            .iter()
            .filter(|o| {
                o.id.eq_ignore_ascii_case(typed) || o.id.to_ascii_uppercase().ends_with(&tail)
            })
            .collect();
        (found.len() == 1).then(|| found[0].id.clone())
    }
}

/// Lints the declaration and every tag against it.
pub(super) fn check(
    files: &PackFiles,
    manifest: &Manifest,
    lessons: &[Lesson],
    exercises: &[Exercise],
    questions: &[Question],
    errors: &mut Vec<PackError>,
) {
    let objectives = manifest.objectives();
    let ids: Vec<&str> = objectives.iter().map(|o| o.id.as_str()).collect();
    let list = ids.join(", ");
    let pack_toml = files.display("pack.toml");
    let mut seen = BTreeSet::new();
    for o in &manifest.objectives {
        if o.id.trim().is_empty() || o.id.contains(char::is_whitespace) {
            errors.push(PackError::new(
                &pack_toml,
                None,
                format!("objectives: the id {:?} is empty or has spaces", o.id),
                "give each objective a short id without spaces (W1, 4.3.K1)",
            ));
        }
        if !seen.insert(o.id.as_str()) {
            errors.push(PackError::new(
                &pack_toml,
                None,
                format!("objectives: the id {:?} is declared twice", o.id),
                "give each objective its own id",
            ));
        }
        if o.title.trim().is_empty() {
            errors.push(PackError::new(
                &pack_toml,
                None,
                format!("objectives: {:?} has no title", o.id),
                "say in a sentence what the objective asks",
            ));
        }
    }
    let unknown = |file: &str, line: Option<usize>, what: String, errors: &mut Vec<PackError>| {
        errors.push(PackError::new(
            file,
            line,
            what,
            format!("use one of the pack's objectives (pack.toml [[objectives]]): {list}"),
        ));
    };
    for lesson in lessons {
        let file = files.display(&lesson.path);
        if lesson.dea_items.is_empty() {
            errors.push(PackError::new(
                &file,
                Some(2),
                "dea_items is empty",
                format!("tag the objectives it teaches: {list}"),
            ));
        }
        for item in lesson
            .dea_items
            .iter()
            .filter(|i| !ids.contains(&i.as_str()))
        {
            unknown(
                &file,
                None,
                format!("dea_items has '{item}', which is not one of the pack's objectives"),
                errors,
            );
        }
        for (heading, section) in &lesson.sections {
            for item in section.items.iter().filter(|i| !ids.contains(&i.as_str())) {
                unknown(
                    &file,
                    None,
                    format!(
                        "[sections] \"{heading}\" has '{item}', which is not one of the pack's objectives"
                    ),
                    errors,
                );
            }
        }
    }
    for x in exercises {
        let file = files.display(&format!("exercises/{}/exercise.toml", x.id));
        if x.spec.dea_items.is_empty() {
            errors.push(PackError::new(
                &file,
                None,
                "dea_items is empty",
                format!("tag the objectives it practises: {list}"),
            ));
        }
        for item in x
            .spec
            .dea_items
            .iter()
            .filter(|i| !ids.contains(&i.as_str()))
        {
            unknown(
                &file,
                None,
                format!("dea_items has '{item}', which is not one of the pack's objectives"),
                errors,
            );
        }
    }
    for q in questions {
        if !ids.contains(&q.item.as_str()) {
            unknown(
                &files.display(&q.path),
                Some(q.line),
                format!(
                    "question '{}': item = '{}' is not one of the pack's objectives",
                    q.id, q.item
                ),
                errors,
            );
        }
    }
}
