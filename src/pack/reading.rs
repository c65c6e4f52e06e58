//! A lesson as a learner reads it: the Markdown body with each tagged section's sources listed
//! at the section's end, so every reader (the TUI, plain mode) shows where a claim comes from
//! without the author repeating the front matter's `sources` in the text.
//!
//! A section runs from its `##`/`###` heading to the next heading of the same or a higher
//! level. Headings are found with the same Markdown parser as the lint, so a `#` inside a code
//! block is not a heading.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use super::Lesson;

/// One `##`/`###` heading: its level, text and byte range in the body.
struct Heading {
    level: HeadingLevel,
    text: String,
    start: usize,
}

fn headings(body: &str) -> Vec<Heading> {
    let mut out = Vec::new();
    let mut open: Option<Heading> = None;
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. })
                if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) =>
            {
                open = Some(Heading {
                    level,
                    text: String::new(),
                    start: range.start,
                });
            }
            Event::End(TagEnd::Heading(_)) => out.extend(open.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = open.as_mut() {
                    h.text.push_str(&t);
                }
            }
            _ => {}
        }
    }
    out
}

impl Lesson {
    /// The body with a "Sources" list at the end of every section that has sources.
    pub fn body_with_sources(&self) -> String {
        let headings = headings(&self.body);
        // (where to insert, what) collected first, inserted from the end so offsets hold.
        let mut inserts = Vec::new();
        for (i, heading) in headings.iter().enumerate() {
            let Some(section) = self.sections.get(&heading.text) else {
                continue;
            };
            if section.sources.is_empty() {
                continue;
            }
            let end = headings[i + 1..]
                .iter()
                .find(|h| h.level <= heading.level)
                .map_or(self.body.len(), |h| h.start);
            // One URL per line (hard breaks), not a list: a bullet would push long URLs to
            // a line of their own at 80 columns.
            let list = section.sources.join("\\\n");
            inserts.push((end, format!("\n*Sources:*\\\n{list}\n\n")));
        }
        let mut body = self.body.clone();
        for (at, text) in inserts.into_iter().rev() {
            let before = if body[..at].ends_with('\n') { "" } else { "\n" };
            body.insert_str(at, &format!("{before}{text}"));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::pack::Section;

    fn lesson(body: &str, sections: &[(&str, &[&str])]) -> Lesson {
        Lesson {
            id: "l".into(),
            title: "L".into(),
            order: 1,
            dea_items: vec![],
            exercises: vec![],
            sections: sections
                .iter()
                .map(|(h, s)| {
                    (
                        h.to_string(),
                        Section {
                            items: vec!["4.3.K1".into()],
                            sources: s.iter().map(|u| u.to_string()).collect(),
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
            body_line: 1,
            path: "lessons/l.md".into(),
            body: body.into(),
        }
    }

    #[test]
    fn sources_close_their_section_before_the_next_heading_of_its_level() {
        let l = lesson(
            "# T\n\n## A\n\ntext a\n\n### A1\n\nsub\n\n## B\n\n```\n## not a heading\n```\n",
            &[
                ("A", &["https://a.example/1"]),
                ("B", &["https://b.example/2"]),
            ],
        );
        let body = l.body_with_sources();
        let a = body.find("https://a.example/1").unwrap();
        let sub = body.find("sub").unwrap();
        let b_heading = body.find("## B").unwrap();
        assert!(
            sub < a && a < b_heading,
            "A's sources after its subsection: {body}"
        );
        let b = body.find("https://b.example/2").unwrap();
        assert!(b > body.find("## not a heading").unwrap(), "{body}");
        assert!(
            body.ends_with("*Sources:*\\\nhttps://b.example/2\n\n"),
            "{body:?}"
        );
    }

    #[test]
    fn a_lesson_without_sources_reads_as_written() {
        let l = lesson("## A\n\ntext\n", &[]);
        assert_eq!(l.body_with_sources(), "## A\n\ntext\n");
    }
}
