//! Content packs: lessons, exercises and graders as data. A pack is `pack.toml` plus
//! `lessons/*.md` (Markdown with TOML front matter between `+++` lines),
//! `lessons/questions/*.toml` (drill questions), `exercises/<id>/exercise.toml` with its
//! `README.md` and starter files, and `graders/<id>.toml` with `graders/<id>/solution` and
//! `graders/<id>/wrong/<misconception>` (each a console script, or a
//! folder of workspace files with an optional `script`). Parsing is strict: an unknown
//! field, a wrong type or a broken reference is a [`PackError`] naming the file, the line and a
//! fix. This module knows nothing of backends or the console; it only reads and checks data.

mod authoring;
pub mod coverage;
pub mod files;
mod lint;
pub mod model;
pub mod objectives;
mod reading;
pub mod reference;
pub mod review;
mod safety;
pub mod scaffold;
pub mod trust;

use std::collections::BTreeMap;
use std::fmt;

pub use self::files::PackFiles;
pub use self::model::*;

/// The pack format this keylab reads.
pub const FORMAT_VERSION: u32 = 1;

/// A problem in a pack, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PackError {
    /// The file.
    pub file: String,
    /// The line (1-based), when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl PackError {
    /// A new error.
    pub fn new(
        file: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> PackError {
        PackError {
            file: file.into(),
            line,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message)?,
            None => write!(f, "{}: {}", self.file, self.message)?,
        }
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// Every problem found in a pack.
#[derive(Debug, Clone, thiserror::Error)]
pub struct PackErrors(pub Vec<PackError>);

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the pack has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

use keylab_mask::toml_lines::line_of;

/// Parses TOML strictly into `T`, turning errors into a [`PackError`] with the line;
/// `line_offset` is added for TOML embedded in a larger file (front matter).
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    line_offset: usize,
) -> Result<T, PackError> {
    toml::from_str(text).map_err(|e| {
        let (line, message, fix) = keylab_mask::toml_lines::describe(text, &e);
        let fix = fix.unwrap_or(if message.starts_with("unknown variant") {
            "use one of the names listed"
        } else {
            "correct the value to the type the format expects (see the pack format in README.md)"
        });
        PackError::new(file, line.map(|l| l + line_offset), message, fix)
    })
}

/// A loaded, checked pack.
#[derive(Debug, Clone)]
pub struct Pack {
    /// The files it came from.
    pub files: PackFiles,
    /// `pack.toml`.
    pub manifest: Manifest,
    /// Lessons in order.
    pub lessons: Vec<Lesson>,
    /// Exercises by id, in lesson order.
    pub exercises: Vec<Exercise>,
    /// Graders by exercise id.
    pub graders: BTreeMap<String, Grader>,
    /// Drill questions, by lesson order then file order.
    pub questions: Vec<Question>,
}

impl Pack {
    /// The pack embedded in the binary.
    pub fn embedded() -> Result<Pack, PackErrors> {
        Pack::load(PackFiles::embedded())
    }

    /// Loads `--pack DIR` (a folder, or a `.tar.gz` of one), or the embedded pack when `dir`
    /// is `None`.
    pub fn open(dir: Option<&std::path::Path>) -> Result<Pack, PackErrors> {
        let files = match dir {
            Some(d) if d.is_file() => PackFiles::from_archive(d),
            Some(d) => PackFiles::from_dir(d),
            None => return Pack::embedded(),
        };
        Pack::load(files.map_err(|e| PackErrors(vec![e]))?)
    }

    /// The SHA-256 of the pack's files (see [`PackFiles::hash`]).
    pub fn hash(&self) -> String {
        self.files.hash()
    }

    /// The SHA-256 of what grading depends on: the graders (checks, solutions, wrong variants)
    /// and the exercises' files other than their README.md (setup, variables, starting files).
    /// Lessons, exercise READMEs, questions and `pack.toml` are prose or course structure: a
    /// changed sentence there leaves this hash, and results made before it, as they were.
    pub fn grading_hash(&self) -> String {
        self.files.hash_where(|p| {
            p.starts_with("graders/") || (p.starts_with("exercises/") && !p.ends_with("/README.md"))
        })
    }

    /// The backend capabilities the pack declares it needs that `backend` lacks, as a message
    /// that says what to do; `None` when it can run.
    pub fn refuses(&self, has: impl Fn(Capability) -> bool, name: &str) -> Option<String> {
        let missing: Vec<&str> = self
            .manifest
            .capabilities
            .iter()
            .filter(|&&c| !has(c))
            .map(|c| c.name())
            .collect();
        if missing.is_empty() {
            return None;
        }
        Some(format!(
            "the pack {} needs {} which {name} does not provide (pack.toml capabilities); run it on the built-in engine (--backend engine)",
            self.manifest.name,
            missing.join(", ")
        ))
    }

    /// Parses and lints every file; returns every problem at once.
    pub fn load(files: PackFiles) -> Result<Pack, PackErrors> {
        let mut errors = Vec::new();
        let manifest = match files
            .text("pack.toml")
            .and_then(|t| parse_toml::<Manifest>(&files.display("pack.toml"), t, 0))
        {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if let Some(m) = &manifest {
            check_manifest(&files, m, &mut errors);
        }
        let mut lessons = Vec::new();
        for path in files.under("lessons").filter(|p| p.ends_with(".md")) {
            match files.text(path).and_then(|t| parse_lesson(&files, path, t)) {
                Ok(l) => lessons.push(l),
                Err(e) => errors.push(e),
            }
        }
        lessons.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
        let mut exercises = Vec::new();
        let ids: Vec<String> = files
            .under("exercises")
            .filter_map(|p| p.strip_suffix("/exercise.toml"))
            .filter_map(|p| p.strip_prefix("exercises/"))
            .filter(|id| !id.contains('/'))
            .map(str::to_string)
            .collect();
        for id in &ids {
            match load_exercise(&files, id) {
                Ok(x) => exercises.push(x),
                Err(e) => errors.push(e),
            }
        }
        let mut graders = BTreeMap::new();
        for id in &ids {
            match load_grader(&files, id) {
                Ok(g) => {
                    graders.insert(id.clone(), g);
                }
                Err(e) => errors.push(e),
            }
        }
        let mut questions = Vec::new();
        for path in files
            .under("lessons/questions")
            .filter(|p| p.ends_with(".toml"))
        {
            match files
                .text(path)
                .and_then(|t| parse_questions(&files, path, t))
            {
                Ok(qs) => questions.extend(qs),
                Err(e) => errors.push(e),
            }
        }
        lint::exercises(&files, &lessons, &exercises, &graders, &mut errors);
        lint::questions(&files, &lessons, &questions, &mut errors);
        lint::lessons(&files, &lessons, &exercises, &mut errors);
        if let Some(m) = &manifest {
            objectives::check(&files, m, &lessons, &exercises, &questions, &mut errors);
        }
        authoring::check(&files, &lessons, &exercises, &graders, &mut errors);
        safety::check(&files, &exercises, &graders, &mut errors);
        questions.sort_by_key(|q| lessons.iter().position(|l| l.id == q.lesson));
        // Course order: by lesson, then as the lesson lists its exercises.
        let order = |x: &Exercise| {
            let lesson = lessons
                .iter()
                .position(|l| l.id == x.spec.lesson)
                .unwrap_or(usize::MAX);
            let within = lessons
                .get(lesson)
                .and_then(|l| l.exercises.iter().position(|e| *e == x.id))
                .unwrap_or(usize::MAX);
            (lesson, within)
        };
        exercises.sort_by(|a, b| (order(a), &a.id).cmp(&(order(b), &b.id)));
        match (manifest, errors.is_empty()) {
            (Some(manifest), true) => Ok(Pack {
                files,
                manifest,
                lessons,
                exercises,
                graders,
                questions,
            }),
            _ => Err(PackErrors(errors)),
        }
    }

    /// An exercise by id.
    pub fn exercise(&self, id: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|x| x.id == id)
    }

    /// An exercise by id, or an error listing the ids there are.
    pub fn try_exercise(&self, id: &str) -> Result<&Exercise, String> {
        self.exercise(id).ok_or_else(|| {
            let ids: Vec<&str> = self.exercises.iter().map(|x| x.id.as_str()).collect();
            format!(
                "no exercise '{id}' in {}; the exercises are: {}",
                self.files.origin,
                ids.join(", ")
            )
        })
    }
}

fn check_manifest(files: &PackFiles, m: &Manifest, errors: &mut Vec<PackError>) {
    let file = files.display("pack.toml");
    if m.format_version != FORMAT_VERSION {
        errors.push(PackError::new(
            &file,
            None,
            format!(
                "format_version {} is not one this keylab reads",
                m.format_version
            ),
            format!("this keylab reads format_version = {FORMAT_VERSION}"),
        ));
    }
    let ours = env!("CARGO_PKG_VERSION");
    if version_tuple(&m.min_keylab_version) > version_tuple(ours) {
        errors.push(PackError::new(
            &file,
            None,
            format!(
                "the pack needs keylab {} or newer; this is {ours}",
                m.min_keylab_version
            ),
            "install a newer keylab",
        ));
    }
}

fn version_tuple(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn parse_lesson(files: &PackFiles, path: &str, text: &str) -> Result<Lesson, PackError> {
    let file = files.display(path);
    let rest = text.strip_prefix("+++\n").ok_or_else(|| {
        PackError::new(
            &file,
            Some(1),
            "a lesson starts with TOML front matter between +++ lines",
            "begin the file with +++, the front matter (id, title, order, dea_items, exercises), then +++",
        )
    })?;
    let end = rest.find("\n+++").ok_or_else(|| {
        PackError::new(
            &file,
            Some(1),
            "the front matter is not closed",
            "add a line with +++ after the front matter",
        )
    })?;
    let front: LessonFront = parse_toml(&file, &rest[..end], 1)?;
    let after = &rest[end + 4..];
    let body = after.trim_start_matches('\n');
    let body_line = line_of(text, text.len() - body.len());
    Ok(Lesson {
        id: front.id,
        title: front.title,
        order: front.order,
        dea_items: front.dea_items,
        exercises: front.exercises,
        sections: front
            .sections
            .into_iter()
            .map(|(heading, spec)| (heading, spec.into()))
            .collect(),
        body_line,
        path: path.to_string(),
        body: body.to_string(),
    })
}

fn parse_questions(files: &PackFiles, path: &str, text: &str) -> Result<Vec<Question>, PackError> {
    let file: QuestionFile = parse_toml(&files.display(path), text, 0)?;
    Ok(file
        .question
        .into_iter()
        .map(|spanned| {
            let line = line_of(text, spanned.span().start);
            let q = spanned.into_inner();
            Question {
                id: q.id,
                lesson: q.lesson,
                item: q.item,
                stem: q.stem,
                choose: q
                    .choose
                    .unwrap_or_else(|| q.option.iter().filter(|o| o.correct).count()),
                source: q.source,
                length_note: q.length_note,
                options: q.option,
                path: path.to_string(),
                line,
            }
        })
        .collect())
}

fn load_exercise(files: &PackFiles, id: &str) -> Result<Exercise, PackError> {
    let path = format!("exercises/{id}/exercise.toml");
    let spec: ExerciseSpec = parse_toml(&files.display(&path), files.text(&path)?, 0)?;
    let readme_path = format!("exercises/{id}/README.md");
    let readme = files.text(&readme_path)?.to_string();
    let prefix = format!("exercises/{id}");
    let starters = files
        .under(&prefix)
        .filter(|p| *p != path && *p != readme_path)
        .map(|p| {
            (
                p[prefix.len() + 1..].to_string(),
                files.bytes(p).unwrap_or_default().to_vec(),
            )
        })
        .collect();
    Ok(Exercise {
        id: id.to_string(),
        spec,
        readme,
        starters,
    })
}

fn load_grader(files: &PackFiles, id: &str) -> Result<Grader, PackError> {
    let path = format!("graders/{id}.toml");
    let text = files.text(&path).map_err(|mut e| {
        e.fix = format!("every exercise needs a grader: create graders/{id}.toml");
        e
    })?;
    let spec: GraderSpec = parse_toml(&files.display(&path), text, 0)?;
    let solution = load_attempt(files, &format!("graders/{id}/solution"))?.ok_or_else(|| {
        PackError::new(
            files.display(&format!("graders/{id}/solution")),
            None,
            "the reference solution is missing",
            "write graders/<id>/solution as console commands, one per line, or a folder with the workspace files and an optional `script`",
        )
    })?;
    let wrong_prefix = format!("graders/{id}/wrong");
    let mut names: Vec<&str> = files
        .under(&wrong_prefix)
        .map(|p| {
            p[wrong_prefix.len() + 1..]
                .split('/')
                .next()
                .unwrap_or_default()
        })
        .collect();
    names.dedup();
    let mut wrong = Vec::new();
    for name in names {
        if let Some(attempt) = load_attempt(files, &format!("{wrong_prefix}/{name}"))? {
            wrong.push((name.to_string(), attempt));
        }
    }
    let mut checks = Vec::new();
    for spanned in spec.check {
        let line = line_of(text, spanned.span().start);
        let check = spanned.into_inner();
        checks.push(Check::from_spec(check, line).map_err(|(message, fix)| {
            PackError::new(files.display(&path), Some(line), message, fix)
        })?);
    }
    if spec.masking.is_none()
        && let Some(c) = checks.iter().find(|c| c.kind.is_masking())
    {
        return Err(PackError::new(
            files.display(&path),
            Some(c.line),
            format!(
                "check \"{}\" is a masking check and the grader has no [masking] table",
                c.title
            ),
            "add [masking] with rules = \"rules.toml\" and inputs = [\"customers.csv\"]",
        ));
    }
    Ok(Grader {
        path,
        checks,
        solution,
        wrong,
        masking: spec.masking,
    })
}

/// A solution or wrong variant at `path`: a script file, or a folder of workspace files with
/// an optional `script`; `None` when neither exists.
fn load_attempt(files: &PackFiles, path: &str) -> Result<Option<Attempt>, PackError> {
    if files.bytes(path).is_some() {
        return Ok(Some(Attempt {
            script: files.text(path)?.to_string(),
            files: Vec::new(),
        }));
    }
    let mut attempt = Attempt::default();
    let mut any = false;
    for p in files.under(path) {
        any = true;
        let rel = &p[path.len() + 1..];
        if rel == "script" {
            attempt.script = files.text(p)?.to_string();
        } else {
            attempt
                .files
                .push((rel.to_string(), files.bytes(p).unwrap_or_default().to_vec()));
        }
    }
    Ok(any.then_some(attempt))
}

/// Variables every exercise has: the backend's endpoints and region, the lab accounts.
pub const BUILT_IN_VARS: &[&str] = &[
    "http_endpoint",
    "https_endpoint",
    "region",
    "owner_account",
    "partner_account",
    "outsider_account",
];

/// DEA-C01 task 4.3's items, the objectives of a pack that declares none, from the exam guide: knowledge of encryption options
/// in analytics services (K1), client-side vs server-side encryption (K2), protection of
/// sensitive data (K3), anonymization, masking and key salting (K4); skills in masking and
/// anonymization (S1), using keys to encrypt and decrypt (S2), encryption across account
/// boundaries (S3), encryption in transit (S4).
pub const DEA_ITEMS: &[&str] = &[
    "4.3.K1", "4.3.K2", "4.3.K3", "4.3.K4", "4.3.S1", "4.3.S2", "4.3.S3", "4.3.S4",
];

/// What a DEA-C01 task 4.3 item asks, in the exam guide's words (empty for an unknown id).
pub fn dea_item_title(id: &str) -> &'static str {
    match id {
        "4.3.K1" => "Data encryption options available in AWS analytics services",
        "4.3.K2" => "Differences between client-side encryption and server-side encryption",
        "4.3.K3" => "Protection of sensitive data",
        "4.3.K4" => "Data anonymization, masking, and key salting",
        "4.3.S1" => {
            "Applying data masking and anonymization according to compliance laws or company policies"
        }
        "4.3.S2" => "Using encryption keys to encrypt or decrypt data (for example, AWS KMS)",
        "4.3.S3" => "Configuring encryption across AWS account boundaries",
        "4.3.S4" => "Enabling encryption in transit for data",
        _ => "",
    }
}

/// The `{{name}}` placeholders of a text, with their lines.
pub fn placeholders(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let Some(end) = rest[start..].find("}}") else {
                break;
            };
            out.push((i + 1, rest[start + 2..start + end].trim().to_string()));
            rest = &rest[start + end + 2..];
        }
    }
    out
}
