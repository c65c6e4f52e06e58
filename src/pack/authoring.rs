//! The author's lint: mistakes that load fine and only show when a learner or `verify` trips
//! on them. Every `{{variable}}` of an exercise (its README, hints, setup, explanation, starter
//! files and grader; solutions and wrong variants are in [`super::lint`]) must be declared
//! under `[vars]`, saved by an earlier setup step or built in; every profile must be a lab
//! identity; every simulated action and audited operation must be one the engine serves; a
//! check's `task` must be a numbered task of the exercise's README; hints must be distinct and
//! non-empty; a solution or wrong variant must run something; every exercise must be listed by
//! a lesson, and every folder under `exercises/` must hold an `exercise.toml`. Each problem is
//! a [`PackError`] with its file and line.

use std::collections::{BTreeMap, BTreeSet};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::{
    BUILT_IN_VARS, CheckKind, Exercise, Grader, Lesson, PackError, PackFiles, placeholders,
};

/// The lab identities' profile names (users and the profiles that assume roles), from the
/// engine's identity file.
pub fn lab_profiles() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(table) = toml::from_str::<toml::Table>(keylab_engine::identity::DEFAULT_IDENTITIES)
    else {
        return out;
    };
    let list = |v: Option<&toml::Value>| v.and_then(|v| v.as_array()).cloned().unwrap_or_default();
    for identity in list(table.get("identity")) {
        if let Some(p) = identity.get("profile").and_then(|p| p.as_str()) {
            out.insert(p.to_string());
        }
    }
    for role in list(table.get("role")) {
        for profile in list(role.get("profile")) {
            if let Some(p) = profile.get("name").and_then(|p| p.as_str()) {
                out.insert(p.to_string());
            }
        }
    }
    out
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_with(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// The line of the first line at or after `from` (1-based) holding `needle`, or `from`: where
/// in a check's table a field is written.
fn line_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    let found = text
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1);
    Some(found.unwrap_or(from))
}

/// The numbers of a README's tasks: the items of its top-level numbered lists.
pub fn readme_tasks(readme: &str) -> BTreeSet<u32> {
    let mut tasks = BTreeSet::new();
    let mut depth = 0usize;
    let mut next: Option<u64> = None;
    for event in Parser::new(readme) {
        match event {
            Event::Start(Tag::List(start)) => {
                if depth == 0 {
                    next = start;
                }
                depth += 1;
            }
            Event::End(TagEnd::List(_)) => depth = depth.saturating_sub(1),
            Event::Start(Tag::Item) if depth == 1 => {
                if let Some(n) = next.as_mut() {
                    tasks.insert(*n as u32);
                    *n += 1;
                }
            }
            _ => {}
        }
    }
    tasks
}

/// The `--profile NAME` values of a command line.
fn profile_options(line: &str) -> Vec<String> {
    let words = shell_words::split(line).unwrap_or_default();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if w == "--profile" {
            out.extend(words.get(i + 1).cloned());
        } else if let Some(p) = w.strip_prefix("--profile=") {
            out.push(p.to_string());
        }
    }
    out
}

/// Whether a script runs anything (a line that is not blank or a `#` comment).
pub fn runs_something(script: &str) -> bool {
    script
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Every rule of this module.
pub(super) fn check(
    files: &PackFiles,
    lessons: &[Lesson],
    exercises: &[Exercise],
    graders: &BTreeMap<String, Grader>,
    errors: &mut Vec<PackError>,
) {
    let profiles = lab_profiles();
    let actions = keylab_engine::operations::actions();
    let operations = keylab_engine::operations::operations();
    folders(files, exercises, errors);
    for x in exercises {
        let file = files.display(&format!("exercises/{}/exercise.toml", x.id));
        if !lessons.iter().any(|l| l.exercises.contains(&x.id)) {
            errors.push(PackError::new(
                &file,
                None,
                format!(
                    "exercise '{}' is listed in no lesson, so no learner sees it",
                    x.id
                ),
                format!(
                    "add \"{}\" to exercises = [...] in the front matter of the lesson '{}'",
                    x.id, x.spec.lesson
                ),
            ));
        }
        hints(files, x, errors);
        variables(files, x, graders.get(&x.id), errors);
        let profile = |file: &str, line: Option<usize>, name: &str, field: &str| {
            (!name.contains("{{") && !profiles.contains(name)).then(|| {
                PackError::new(
                    file,
                    line,
                    format!("{field} '{name}' is not a lab identity"),
                    format!(
                        "use one of {}",
                        profiles.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        };
        let text = files
            .text(&format!("exercises/{}/exercise.toml", x.id))
            .unwrap_or_default();
        errors.extend(profile(
            &file,
            line_with(text, "profile"),
            &x.spec.profile,
            "profile",
        ));
        for step in &x.spec.setup {
            if let Some(p) = &step.profile {
                errors.extend(profile(
                    &file,
                    line_with(text, &format!("\"{p}\"")),
                    p,
                    "profile",
                ));
            }
            for p in step.run.as_deref().map(profile_options).unwrap_or_default() {
                errors.extend(profile(&file, line_with(text, &p), &p, "--profile"));
            }
        }
        let Some(grader) = graders.get(&x.id) else {
            continue;
        };
        let gfile = files.display(&grader.path);
        let gtext = files.text(&grader.path).unwrap_or_default();
        if let Some(p) = grader.masking.as_ref().and_then(|m| m.profile.as_ref()) {
            errors.extend(profile(
                &gfile,
                line_with(gtext, &format!("\"{p}\"")),
                p,
                "profile",
            ));
        }
        let tasks = readme_tasks(&x.readme);
        for c in &grader.checks {
            let line = Some(c.line);
            for p in check_profiles(&c.kind) {
                let line = line_from(gtext, c.line, &format!("\"{p}\""));
                errors.extend(profile(&gfile, line, &p, "profile"));
            }
            if let CheckKind::Command(cmd) = &c.kind {
                for p in profile_options(&cmd.run) {
                    errors.extend(profile(&gfile, line, &p, "--profile"));
                }
            }
            if let CheckKind::Simulate(s) = &c.kind {
                for r in s.request.iter().filter(|r| !actions.contains(&r.action)) {
                    errors.push(PackError::new(
                        &gfile,
                        line_from(gtext, c.line, &format!("\"{}\"", r.action)),
                        format!(
                            "check \"{}\": action '{}' is not an action the engine decides, so every request for it is denied whatever the policy says",
                            c.title, r.action
                        ),
                        "write an action as kms:Decrypt or s3:GetObject (see docs/pack-format.md)",
                    ));
                }
            }
            if let CheckKind::Audit(a) = &c.kind
                && !operations.contains(a.operation.as_str())
            {
                errors.push(PackError::new(
                    &gfile,
                    line_from(gtext, c.line, &format!("\"{}\"", a.operation)),
                    format!(
                        "check \"{}\": operation '{}' is no operation the engine serves, so the audit log never has it",
                        c.title, a.operation
                    ),
                    "write the API operation's name, such as GenerateDataKey or PutObject",
                ));
            }
            if let Some(task) = c.task.filter(|t| !tasks.contains(t)) {
                let has = if tasks.is_empty() {
                    "numbers no tasks (a task is an item of a numbered list: 1. …)".to_string()
                } else {
                    format!(
                        "has the tasks {}",
                        tasks
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                errors.push(PackError::new(
                    &gfile,
                    line_from(gtext, c.line, "task"),
                    format!(
                        "check \"{}\": task = {task}, and exercises/{}/README.md {has}",
                        c.title, x.id
                    ),
                    "give the number of the README task the check grades, or leave task out",
                ));
            }
        }
        attempts(files, &x.id, grader, &profile, errors);
    }
}

/// The lab-identity rule: an error when a profile is not one of the lab identities.
type ProfileRule<'a> = dyn Fn(&str, Option<usize>, &str, &str) -> Option<PackError> + 'a;

/// Solutions and wrong variants: each runs something, and names only lab identities.
fn attempts(
    files: &PackFiles,
    id: &str,
    grader: &Grader,
    profile: &ProfileRule<'_>,
    errors: &mut Vec<PackError>,
) {
    let attempts = grader
        .wrong
        .iter()
        .map(|(name, a)| (format!("graders/{id}/wrong/{name}"), a))
        .chain([(format!("graders/{id}/solution"), &grader.solution)]);
    for (base, attempt) in attempts {
        let script = if attempt.files.is_empty() {
            base.clone()
        } else {
            format!("{base}/script")
        };
        if attempt.files.is_empty() && !runs_something(&attempt.script) {
            errors.push(PackError::new(
                files.display(&base),
                Some(1),
                "runs nothing: it is empty or only comments, so it makes no mistake (and two empty files are not two variants)",
                "write the console commands (or the workspace files) of the attempt",
            ));
        }
        for (i, line) in attempt.script.lines().enumerate() {
            for p in profile_options(line.trim_start_matches(['!', ' '])) {
                errors.extend(profile(
                    &files.display(&script),
                    Some(i + 1),
                    &p,
                    "--profile",
                ));
            }
        }
    }
}

/// The lab identities a check's kind names.
fn check_profiles(kind: &CheckKind) -> Vec<String> {
    let one = |p: &Option<String>| p.iter().cloned().collect::<Vec<_>>();
    match kind {
        CheckKind::Key(c) => one(&c.profile),
        CheckKind::Alias(c) => one(&c.profile),
        CheckKind::BucketEncryption(c) => one(&c.profile),
        CheckKind::Object(c) => one(&c.profile),
        CheckKind::Command(c) => one(&c.profile),
        CheckKind::RoundTrip(c) => one(&c.profile),
        CheckKind::NoPlaintextKeys(c) => one(&c.profile),
        CheckKind::Audit(c) => one(&c.profile),
        CheckKind::Simulate(c) => c
            .request
            .iter()
            .filter(|r| !r.profile.is_empty())
            .map(|r| r.profile.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// Empty and repeated hints.
fn hints(files: &PackFiles, x: &Exercise, errors: &mut Vec<PackError>) {
    let path = format!("exercises/{}/exercise.toml", x.id);
    let text = files.text(&path).unwrap_or_default();
    let line = line_with(text, "hints");
    let mut seen = BTreeSet::new();
    for (i, hint) in x.spec.hints.iter().enumerate() {
        let norm = hint.split_whitespace().collect::<Vec<_>>().join(" ");
        let problem = if norm.is_empty() {
            "is empty"
        } else if !seen.insert(norm) {
            "repeats an earlier hint"
        } else {
            continue;
        };
        errors.push(PackError::new(
            files.display(&path),
            line,
            format!("hint {} {problem}", i + 1),
            "make every hint say something new, from a nudge to nearly the answer",
        ));
    }
}

/// `{{variables}}` of the exercise's own files and its grader.
fn variables(
    files: &PackFiles,
    x: &Exercise,
    grader: Option<&Grader>,
    errors: &mut Vec<PackError>,
) {
    let saves: Vec<&str> = x
        .spec
        .setup
        .iter()
        .filter_map(|s| s.save.as_deref())
        .collect();
    let known =
        |v: &str| x.spec.vars.contains_key(v) || BUILT_IN_VARS.contains(&v) || saves.contains(&v);
    let fix = format!(
        "declare it under [vars] in exercises/{}/exercise.toml, save it with save = \"name\" in a [[setup]] step, or use a built-in one ({})",
        x.id,
        BUILT_IN_VARS.join(", ")
    );
    let mut texts: Vec<(String, String)> = Vec::new();
    for name in ["exercise.toml", "README.md"] {
        let path = format!("exercises/{}/{name}", x.id);
        if let Ok(t) = files.text(&path) {
            texts.push((path, t.to_string()));
        }
    }
    for (name, bytes) in &x.starters {
        if let Ok(t) = std::str::from_utf8(bytes) {
            texts.push((format!("exercises/{}/{name}", x.id), t.to_string()));
        }
    }
    if let Some(g) = grader
        && let Ok(t) = files.text(&g.path)
    {
        texts.push((g.path.clone(), t.to_string()));
    }
    for (path, text) in &texts {
        for (line, var) in placeholders(text) {
            if !known(&var) {
                errors.push(PackError::new(
                    files.display(path),
                    Some(line),
                    format!("{{{{{var}}}}} is not a variable of the exercise"),
                    &fix,
                ));
            }
        }
    }
    // A setup step sees only what the steps before it saved.
    let toml_path = format!("exercises/{}/exercise.toml", x.id);
    let toml_text = files.text(&toml_path).unwrap_or_default();
    for (i, step) in x.spec.setup.iter().enumerate() {
        let later: Vec<&str> = x.spec.setup[i..]
            .iter()
            .filter_map(|s| s.save.as_deref())
            .collect();
        let used = [step.run.as_deref(), step.dataset.as_deref()];
        for text in used.into_iter().flatten() {
            for (_, var) in placeholders(text) {
                let earlier = x.spec.setup[..i]
                    .iter()
                    .any(|s| s.save.as_deref() == Some(var.as_str()));
                if later.contains(&var.as_str()) && !earlier && !x.spec.vars.contains_key(&var) {
                    errors.push(PackError::new(
                        files.display(&toml_path),
                        line_with(toml_text, text.lines().next().unwrap_or_default()),
                        format!(
                            "setup step {} uses {{{{{var}}}}}, which only this or a later step saves",
                            i + 1
                        ),
                        "move the step that saves it before the steps that use it",
                    ));
                }
            }
        }
    }
}

/// Folders under `exercises/` without an `exercise.toml`, and graders of no exercise.
fn folders(files: &PackFiles, exercises: &[Exercise], errors: &mut Vec<PackError>) {
    let dirs: BTreeSet<&str> = files
        .under("exercises")
        .filter_map(|p| p.strip_prefix("exercises/"))
        .filter_map(|p| p.split_once('/').map(|(dir, _)| dir))
        .collect();
    for dir in dirs {
        if files
            .bytes(&format!("exercises/{dir}/exercise.toml"))
            .is_none()
        {
            errors.push(PackError::new(
                files.display(&format!("exercises/{dir}")),
                None,
                "a folder under exercises/ without exercise.toml is not an exercise, and keylab would skip it",
                format!("add exercises/{dir}/exercise.toml, or move the folder out of exercises/"),
            ));
        }
    }
    for path in files.under("graders") {
        let Some(id) = path
            .strip_prefix("graders/")
            .and_then(|p| p.strip_suffix(".toml"))
            .filter(|id| !id.contains('/'))
        else {
            continue;
        };
        if !exercises.iter().any(|x| x.id == id)
            && files
                .bytes(&format!("exercises/{id}/exercise.toml"))
                .is_none()
        {
            errors.push(PackError::new(
                files.display(path),
                None,
                format!("a grader for '{id}', which is not an exercise in exercises/"),
                format!("rename it after its exercise, or add exercises/{id}/exercise.toml"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_tasks_are_the_top_level_numbered_items() {
        let readme = "# T\n\n1. one\n   1. nested\n2. two\n\nText.\n\n3. three\n\n- bullet\n";
        assert_eq!(readme_tasks(readme), BTreeSet::from([1, 2, 3]));
        assert!(readme_tasks("# T\n\nNo tasks.\n").is_empty());
        assert_eq!(
            profile_options("aws kms list-keys --profile partner-admin --output json"),
            ["partner-admin"]
        );
        assert!(lab_profiles().contains("owner-admin"));
        assert!(lab_profiles().contains("partner-analyst-in-owner"));
        assert!(!runs_something("# only\n\n  # comments\n"));
        assert!(runs_something("# c\nls\n"));
    }
}
