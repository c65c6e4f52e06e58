//! The coverage table: for each of the pack's objectives (DEA-C01 task 4.3's items in the
//! built-in pack), the lesson sections that teach it, the
//! exercises that practise it and how many drill questions test it. `keylab coverage` prints it
//! and the README carries it; it is computed from the pack's tags, never written by hand.

use serde::Serialize;

use super::Pack;

/// One item's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The item (`4.3.K1`).
    pub item: String,
    /// What the exam guide says it is.
    pub title: String,
    /// `lesson number › section heading` for each tagged section; `number. lesson title` for
    /// a lesson tagged as a whole.
    pub sections: Vec<String>,
    /// Exercise ids.
    pub exercises: Vec<String>,
    /// Questions that test it.
    pub questions: usize,
}

/// The table's rows, in the order of the pack's objectives.
pub fn rows(pack: &Pack) -> Vec<Row> {
    // Each lesson's headings in order, parsed once, as the lint reads them.
    let headings: Vec<Vec<String>> = pack
        .lessons
        .iter()
        .map(|l| super::lint::outline(&l.body).0)
        .collect();
    pack.objectives()
        .into_iter()
        .map(|objective| {
            let item = objective.id.as_str();
            let mut sections = Vec::new();
            for (lesson, headings) in pack.lessons.iter().zip(&headings) {
                let tagged: Vec<&String> = headings
                    .iter()
                    .filter(|h| {
                        lesson
                            .sections
                            .get(*h)
                            .is_some_and(|s| s.items.iter().any(|i| i == item))
                    })
                    .collect();
                if tagged.is_empty() && lesson.dea_items.iter().any(|i| i == item) {
                    sections.push(format!("{}. {}", lesson.order, lesson.title));
                }
                for heading in tagged {
                    sections.push(format!("{} › {heading}", lesson.order));
                }
            }
            Row {
                item: item.to_string(),
                title: objective.title.clone(),
                sections,
                exercises: pack
                    .exercises
                    .iter()
                    .filter(|x| x.spec.dea_items.iter().any(|i| i == item))
                    .map(|x| x.id.clone())
                    .collect(),
                questions: pack.questions.iter().filter(|q| q.item == item).count(),
            }
        })
        .collect()
}

/// The table as Markdown (what the README carries), with the lessons' numbers explained.
pub fn to_markdown(pack: &Pack, rows: &[Row]) -> String {
    let lessons: Vec<String> = pack
        .lessons
        .iter()
        .map(|l| format!("{} {}", l.order, l.title))
        .collect();
    let mut out = format!("Lessons: {}.\n\n", lessons.join("; "));
    out.push_str(
        "| item | what the exam asks | lesson sections | exercises | questions |\n|---|---|---|---|---:|\n",
    );
    for r in rows {
        let exercises: Vec<String> = r.exercises.iter().map(|x| format!("`{x}`")).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.item,
            r.title,
            r.sections.join("<br>"),
            exercises.join(", "),
            r.questions
        ));
    }
    let total: usize = rows.iter().map(|r| r.questions).sum();
    out.push_str(&format!("| | **total** | | | {total} |\n"));
    out
}
