//! The pack's lint: the cross-file rules serde cannot express. Every exercise has a lesson,
//! hints, an explanation, DEA-C01 tags, a grader with checks and at least two known-wrong
//! variants, and only declared `{{variables}}`; every question has a lesson, a known item, the
//! right number of correct options and an explanation of each; every lesson's links and
//! section tags resolve. Each problem is a [`PackError`] with its file, line and fix.

use std::collections::{BTreeMap, BTreeSet};

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use super::{
    BUILT_IN_VARS, Exercise, Grader, Lesson, PackError, PackFiles, Question, placeholders,
};

/// The fewest hints an exercise has.
pub(super) const MIN_HINTS: usize = 2;
/// The fewest known-wrong variants a grader has.
pub(super) const MIN_WRONG: usize = 2;
/// The options of a single-answer question.
pub(super) const SINGLE_OPTIONS: usize = 4;
/// The options of a multiple-response question.
pub(super) const MULTIPLE_OPTIONS: std::ops::RangeInclusive<usize> = 5..=6;

pub(super) fn exercises(
    files: &PackFiles,
    lessons: &[Lesson],
    exercises: &[Exercise],
    graders: &BTreeMap<String, Grader>,
    errors: &mut Vec<PackError>,
) {
    let mut seen = BTreeMap::new();
    for lesson in lessons {
        let file = files.display(&lesson.path);
        if let Some(other) = seen.insert(lesson.id.clone(), lesson.path.clone()) {
            errors.push(PackError::new(
                &file,
                Some(2),
                format!("lesson id '{}' is also used by {other}", lesson.id),
                "give every lesson its own id",
            ));
        }
        for x in &lesson.exercises {
            if files
                .bytes(&format!("exercises/{x}/exercise.toml"))
                .is_none()
            {
                errors.push(PackError::new(
                    &file,
                    None,
                    format!("exercises names '{x}', which is not in exercises/"),
                    format!("create exercises/{x}/exercise.toml or remove the name"),
                ));
            }
        }
    }
    for x in exercises {
        let file = files.display(&format!("exercises/{}/exercise.toml", x.id));
        let s = &x.spec;
        if !lessons.iter().any(|l| l.id == s.lesson) {
            errors.push(PackError::new(
                &file,
                None,
                format!("lesson = '{}' names no lesson", s.lesson),
                "use the id of a lesson in lessons/",
            ));
        }
        if s.hints.len() < MIN_HINTS {
            errors.push(PackError::new(
                &file,
                None,
                format!("{} hint(s); an exercise needs at least two", s.hints.len()),
                "add hints from a nudge to nearly the answer",
            ));
        }
        if s.backends.is_empty() {
            errors.push(PackError::new(
                &file,
                None,
                "backends is empty",
                "list the backends it supports: \"engine\", \"localstack\"",
            ));
        }
        if s.explanation.trim().is_empty() {
            errors.push(PackError::new(
                &file,
                None,
                "explanation is empty",
                "write what the learner should take away after passing",
            ));
        }
        let Some(grader) = graders.get(&x.id) else {
            continue;
        };
        let gfile = files.display(&grader.path);
        if grader.checks.is_empty() {
            errors.push(PackError::new(
                &gfile,
                None,
                "no checks",
                "add [[check]] tables",
            ));
        }
        if grader.wrong.len() < MIN_WRONG {
            errors.push(PackError::new(
                files.display(&format!("graders/{}/wrong", x.id)),
                None,
                format!(
                    "{} known-wrong variant(s); an exercise needs at least two",
                    grader.wrong.len()
                ),
                "add graders/<id>/wrong/<misconception>, each named after a real mistake",
            ));
        }
        let mut known: Vec<String> = s.vars.keys().cloned().collect();
        known.extend(BUILT_IN_VARS.iter().map(|v| v.to_string()));
        let mut texts: Vec<(String, &str)> = Vec::new();
        let attempts = grader
            .wrong
            .iter()
            .map(|(name, a)| (format!("graders/{}/wrong/{name}", x.id), a))
            .chain([(format!("graders/{}/solution", x.id), &grader.solution)]);
        for (base, attempt) in attempts {
            if attempt.files.is_empty() {
                texts.push((base, &attempt.script));
                continue;
            }
            texts.push((format!("{base}/script"), &attempt.script));
            for (name, bytes) in &attempt.files {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    texts.push((format!("{base}/{name}"), text));
                }
            }
        }
        for (path, body) in texts {
            for (line, var) in placeholders(body) {
                if !known.contains(&var)
                    && !s.setup.iter().any(|st| st.save.as_deref() == Some(&var))
                {
                    errors.push(PackError::new(
                        files.display(&path),
                        Some(line),
                        format!("{{{{{var}}}}} is not a variable of the exercise"),
                        format!(
                            "declare it under [vars] in exercises/{}/exercise.toml",
                            x.id
                        ),
                    ));
                }
            }
        }
    }
}

/// Drill questions: unique ids, a lesson, options that fit the kind, and an
/// explanation of every option.
pub(super) fn questions(
    files: &PackFiles,
    lessons: &[Lesson],
    questions: &[Question],
    errors: &mut Vec<PackError>,
) {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for q in questions {
        let file = files.display(&q.path);
        let mut error = |message: String, fix: String| {
            errors.push(PackError::new(&file, Some(q.line), message, fix));
        };
        let here = format!("{file}:{}", q.line);
        if let Some(other) = seen.insert(&q.id, here) {
            error(
                format!("question id '{}' is also used at {other}", q.id),
                "give every question its own id".into(),
            );
        }
        if !lessons.iter().any(|l| l.id == q.lesson) {
            error(
                format!(
                    "question '{}': lesson = '{}' names no lesson",
                    q.id, q.lesson
                ),
                "use the id of a lesson in lessons/".into(),
            );
        }
        let correct = q.options.iter().filter(|o| o.correct).count();
        if correct != q.choose {
            error(
                format!(
                    "question '{}' has {correct} correct option(s) and choose = {}",
                    q.id, q.choose
                ),
                "mark one option correct for a single answer, or write choose = 2 or 3 and mark that many".into(),
            );
        }
        let (options, word) = match q.choose {
            1 => (SINGLE_OPTIONS..=SINGLE_OPTIONS, ""),
            2 => (MULTIPLE_OPTIONS, "two"),
            3 => (MULTIPLE_OPTIONS, "three"),
            n => {
                error(
                    format!("question '{}': {n} correct options", q.id),
                    "a question has one correct option, or two or three for multiple response"
                        .into(),
                );
                continue;
            }
        };
        if !options.contains(&q.options.len()) {
            let wanted = if q.choose == 1 { "exactly 4" } else { "5 or 6" };
            error(
                format!(
                    "question '{}' has {} options; this kind needs {wanted}",
                    q.id,
                    q.options.len()
                ),
                "write plausible wrong options (each with its why) or remove one, as the exam does"
                    .into(),
            );
        }
        if q.choose > 1 && !q.stem.contains(&format!("(Choose {word}.)")) {
            error(
                format!(
                    "question '{}' is multiple response and its stem does not say (Choose {word}.)",
                    q.id
                ),
                format!("end the stem with (Choose {word}.), as the exam does"),
            );
        }
        for (i, o) in q.options.iter().enumerate() {
            if o.why.trim().is_empty() || o.text.trim().is_empty() {
                error(
                    format!(
                        "question '{}': option {} has no text or no why",
                        q.id,
                        i + 1
                    ),
                    "explain why every option is right or wrong".into(),
                );
            }
        }
    }
}

/// Lessons: DEA-C01 tags, section tags that name real headings, and links that resolve
/// (`lesson:ID`, `exercise:ID`, `#heading`, or an https URL).
pub(super) fn lessons(
    files: &PackFiles,
    lessons: &[Lesson],
    exercises: &[Exercise],
    errors: &mut Vec<PackError>,
) {
    for lesson in lessons {
        let file = files.display(&lesson.path);
        let (headings, links) = outline(&lesson.body);
        for heading in lesson.sections.keys() {
            if !headings.iter().any(|h| h == heading) {
                errors.push(PackError::new(
                    &file,
                    None,
                    format!("[sections] names \"{heading}\", which is no heading of the lesson"),
                    "use the text of a ## or ### heading exactly",
                ));
            }
        }
        let slugs: BTreeSet<String> = headings.iter().map(|h| slug(h)).collect();
        for (offset, url) in links {
            let line = Some(lesson.body_line + lesson.body[..offset].matches('\n').count());
            let broken = if let Some(id) = url.strip_prefix("lesson:") {
                (!lessons.iter().any(|l| l.id == id)).then(|| format!("no lesson '{id}'"))
            } else if let Some(id) = url.strip_prefix("exercise:") {
                (!exercises.iter().any(|x| x.id == id)).then(|| format!("no exercise '{id}'"))
            } else if let Some(anchor) = url.strip_prefix('#') {
                (!slugs.contains(anchor)).then(|| format!("no heading with the anchor #{anchor}"))
            } else if url.starts_with("https://") {
                None
            } else {
                Some("a link keylab cannot open".to_string())
            };
            if let Some(why) = broken {
                errors.push(PackError::new(
                    &file,
                    line,
                    format!("broken link ({url}): {why}"),
                    "link to lesson:ID, exercise:ID, #heading-anchor or an https:// URL",
                ));
            }
        }
    }
}

/// The `##`/`###` heading texts and the link targets (with their byte offsets) of Markdown.
pub(super) fn outline(body: &str) -> (Vec<String>, Vec<(usize, String)>) {
    let mut headings = Vec::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2 | HeadingLevel::H3,
                ..
            }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => headings.extend(heading.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push((range.start, dest_url.to_string()));
            }
            _ => {}
        }
    }
    (headings, links)
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, other punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}
