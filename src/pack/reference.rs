//! The pack-format reference (`docs/pack-format.md`, printed by `keylab pack docs`), generated
//! from the definitions the parser uses, so it cannot drift: the field tables come from the
//! serde types of [`super::model`] (read from its source: field names, types, `///` docs,
//! `#[serde(default)]` and renames), the check kinds from the `check_kinds!` list, the
//! capabilities from the `capabilities!` list, the minimum counts from the lint's constants,
//! the built-in variables, lab identities and engine actions from their lists, the rules for
//! solutions and wrong variants from `verify`'s own documentation, and one example per check
//! kind from the built-in pack's graders (which `keylab verify` proves work). A test compares
//! the committed file with this output. Limits: prose between the tables is written here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{BUILT_IN_VARS, CheckKind, PackFiles};

const MODEL: &str = include_str!("model.rs");
const VERIFY: &str = include_str!("../lab/verify.rs");

/// A field of a struct, or a variant of an enum, as the source declares it.
#[derive(Debug, Clone, Default)]
struct Field {
    name: String,
    ty: String,
    docs: String,
    optional: bool,
    default: Option<String>,
}

/// A struct or enum of the model.
#[derive(Debug, Clone, Default)]
struct Item {
    docs: String,
    fields: Vec<Field>,
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn quoted(attr: &str, key: &str) -> Option<String> {
    let at = attr.find(&format!("{key} = \""))? + key.len() + 4;
    Some(attr[at..].split('"').next()?.to_string())
}

/// The value a `#[serde(default = "name")]` function returns, from its body.
fn default_fn(name: &str) -> Option<String> {
    let start = MODEL.find(&format!("fn {name}() ->"))?;
    let body = MODEL[start..].lines().nth(1)?.trim();
    Some(body.trim_end_matches(".into()").to_string())
}

/// Every `pub struct` and `pub enum` of the model (those inside the macros included), by name.
fn items() -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    let mut docs: Vec<String> = Vec::new();
    let mut attrs: Vec<String> = Vec::new();
    let mut open: Option<(String, bool, Item, Option<String>)> = None;
    for raw in MODEL.lines() {
        let line = raw.trim();
        if let Some(doc) = line.strip_prefix("///") {
            docs.push(doc.trim().to_string());
            continue;
        }
        if line.starts_with("#[") {
            attrs.push(line.to_string());
            continue;
        }
        let head = line
            .strip_prefix("pub struct ")
            .map(|r| (r, false))
            .or_else(|| line.strip_prefix("pub enum ").map(|r| (r, true)));
        if let Some((rest, is_enum)) = head.filter(|(r, _)| r.ends_with('{')) {
            let name = rest.trim_end_matches('{').trim().to_string();
            let rename_all = attrs.iter().find_map(|a| quoted(a, "rename_all"));
            let item = Item {
                docs: docs.join(" "),
                fields: Vec::new(),
            };
            open = Some((name, is_enum, item, rename_all));
        } else if line == "}" {
            if let Some((name, _, item, _)) = open.take() {
                items.insert(name, item);
            }
        } else if let Some((_, is_enum, item, rename_all)) = open.as_mut()
            && !line.starts_with('$')
            && !line.is_empty()
        {
            let serde = attrs.join(" ");
            let field = if *is_enum {
                let variant = line
                    .trim_end_matches(',')
                    .split(['(', ' '])
                    .next()
                    .unwrap_or_default();
                let ty = line
                    .split_once('(')
                    .map(|(_, t)| t.trim_end_matches([',', ')']).to_string())
                    .unwrap_or_default();
                let name = quoted(&serde, "rename").unwrap_or_else(|| match rename_all {
                    Some(_) => snake(variant),
                    None => variant.to_string(),
                });
                Field {
                    name,
                    ty,
                    docs: docs.join(" "),
                    ..Field::default()
                }
            } else if let Some((name, ty)) =
                line.strip_prefix("pub ").and_then(|l| l.split_once(": "))
            {
                let ty = ty.trim_end_matches(',').to_string();
                let default = quoted(&serde, "default").and_then(|f| default_fn(&f));
                Field {
                    name: quoted(&serde, "rename").unwrap_or_else(|| name.to_string()),
                    optional: serde.contains("serde(default") || ty.starts_with("Option<"),
                    ty,
                    docs: docs.join(" "),
                    default,
                }
            } else {
                docs.clear();
                attrs.clear();
                continue;
            };
            item.fields.push(field);
        }
        docs.clear();
        attrs.clear();
    }
    items
}

/// The rows of a `name! { /// doc  Variant(Type) = field, }` list in the model.
fn macro_rows(name: &str) -> Vec<(String, String, String)> {
    let start = MODEL
        .find(&format!("\n{name}! {{"))
        .expect("the list is in model.rs");
    let mut rows = Vec::new();
    let mut docs = Vec::new();
    for line in MODEL[start..].lines().skip(2) {
        let line = line.trim();
        if line == "}" {
            break;
        }
        if let Some(d) = line.strip_prefix("///") {
            docs.push(d.trim().to_string());
        } else if let Some((left, right)) = line.trim_end_matches(',').split_once(" = ") {
            let ty = left
                .split_once('(')
                .map(|(_, t)| t.trim_end_matches(')').to_string())
                .unwrap_or_default();
            rows.push((right.trim_matches('"').to_string(), ty, docs.join(" ")));
            docs.clear();
        }
    }
    rows
}

/// A TOML type as a pack author reads it.
fn toml_type(ty: &str, items: &BTreeMap<String, Item>) -> String {
    let inner = |t: &str, pre: &str| toml_type(&t[pre.len()..t.len() - 1], items);
    match ty {
        "String" => "string".into(),
        "bool" => "boolean".into(),
        "u32" | "u64" | "usize" => "integer".into(),
        "f64" => "number".into(),
        "serde_json::Value" => "any TOML value (compared as JSON)".into(),
        t if t.starts_with("Option<") => inner(t, "Option<"),
        t if t.starts_with("Vec<") => format!("array of {}", inner(t, "Vec<")),
        t if t.starts_with("toml::Spanned<") => inner(t, "toml::Spanned<"),
        t if t.starts_with("BTreeMap<String, ") => {
            format!("table of {}", inner(t, "BTreeMap<String, "))
        }
        "Capability" => "capability name (listed under `pack.toml`)".into(),
        "SectionSpec" => "array of item ids, or a table (below)".into(),
        t => match items.get(t) {
            Some(item)
                if item.fields.iter().all(|f| f.ty.is_empty()) && !item.fields.is_empty() =>
            {
                let names: Vec<String> = item
                    .fields
                    .iter()
                    .map(|f| format!("`\"{}\"`", f.name))
                    .collect();
                format!("one of {}", names.join(", "))
            }
            _ => format!("table ({t})"),
        },
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A Markdown table of a struct's fields.
fn table(out: &mut String, items: &BTreeMap<String, Item>, name: &str, skip: &[&str]) {
    let item = &items[name];
    out.push_str("| field | type | required | what it is |\n|---|---|---|---|\n");
    for f in item
        .fields
        .iter()
        .filter(|f| !skip.contains(&f.name.as_str()))
    {
        let required = match (&f.default, f.optional) {
            (Some(d), _) => format!("no (default {d})"),
            (None, true) => "no".to_string(),
            (None, false) => "**yes**".to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {required} | {} |",
            f.name,
            cell(&toml_type(&f.ty, items)),
            cell(&f.docs)
        );
    }
    out.push('\n');
}

/// A list of an enum's values with their docs.
fn values(out: &mut String, items: &BTreeMap<String, Item>, name: &str) {
    for f in &items[name].fields {
        let _ = writeln!(out, "- `\"{}\"`: {}", f.name, f.docs);
    }
    out.push('\n');
}

/// What each built-in variable holds.
pub fn built_in_var_doc(name: &str) -> &'static str {
    match name {
        "http_endpoint" => {
            "the backend's plain-HTTP endpoint (for `--endpoint-url`, to send a request without TLS)"
        }
        "https_endpoint" => "the backend's HTTPS endpoint (the console's default)",
        "region" => "the backend's region (`us-east-1` on the engine)",
        "owner_account" => "the 12-digit id of the owner account (the profile `owner-admin`'s)",
        "partner_account" => "the 12-digit id of the partner account (`partner-admin`'s)",
        "outsider_account" => "the 12-digit id of the outsider account (`outsider-admin`'s)",
        _ => "",
    }
}

/// The first check of each kind in the embedded pack's graders, as written, with its file.
fn examples() -> BTreeMap<&'static str, (String, String)> {
    let files = PackFiles::embedded();
    let mut out = BTreeMap::new();
    for path in files.under("graders").filter(|p| p.ends_with(".toml")) {
        let Ok(text) = files.text(path) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i] == "[[check]]")
            .collect();
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(lines.len());
            let block = lines[start..end].join("\n").trim_end().to_string();
            for kind in CheckKind::NAMES {
                if block.contains(&format!("\n[check.{kind}]")) {
                    out.entry(*kind)
                        .or_insert_with(|| (path.to_string(), block.clone()));
                }
            }
        }
    }
    out
}

/// The reference, as Markdown.
pub fn markdown() -> String {
    let items = items();
    let mut out = String::from(
        "<!-- Generated by `keylab pack docs` from the parser's definitions: do not edit by hand. -->\n\n# The keylab pack format\n\n",
    );
    out.push_str(
        "A pack is a folder (or a `.tar.gz` of one) holding `pack.toml`, `lessons/*.md`, `lessons/questions/*.toml`, `exercises/<id>/` (`exercise.toml`, `README.md` and starter files) and `graders/<id>.toml` with `graders/<id>/solution` and `graders/<id>/wrong/<misconception>`. Every table denies unknown fields: a misspelt field is an error with its file and line. Dotfiles (`.DS_Store`, `._name`) are ignored. Check a pack with `keylab pack lint DIR` (no backend) and prove it with `keylab verify --pack DIR`.\n\n",
    );
    out.push_str("## `pack.toml`\n\n");
    table(&mut out, &items, "Manifest", &[]);
    out.push_str("`capabilities` and a check's `needs` take these names:\n\n");
    for (name, _, doc) in macro_rows("capabilities") {
        let _ = writeln!(out, "- `\"{name}\"`: {doc}");
    }
    out.push_str(
        "\n## Lessons: `lessons/*.md`\n\nMarkdown with TOML front matter between `+++` lines:\n\n",
    );
    table(&mut out, &items, "LessonFront", &[]);
    out.push_str(
        "A section is tagged either as `\"Heading\" = [\"item\", …]` or as a table `[sections.\"Heading\"]`:\n\n",
    );
    table(&mut out, &items, "Section", &[]);
    out.push_str("Links in a lesson go to `lesson:ID`, `exercise:ID`, `#heading-anchor` or an `https://` URL.\n\n");
    out.push_str("## Drill questions: `lessons/questions/*.toml`\n\nEach `[[question]]`:\n\n");
    table(&mut out, &items, "QuestionSpec", &[]);
    out.push_str("Each `[[question.option]]`:\n\n");
    table(&mut out, &items, "AnswerOption", &[]);
    let _ = writeln!(
        out,
        "A single-answer question has exactly {} options; a multiple-response one (`choose = 2` or `3`) has {} to {} and its stem ends with \"(Choose two.)\" or \"(Choose three.)\".\n",
        super::lint::SINGLE_OPTIONS,
        super::lint::MULTIPLE_OPTIONS.start(),
        super::lint::MULTIPLE_OPTIONS.end()
    );
    exercise_section(&mut out, &items);
    grader_section(&mut out, &items);
    out
}

fn exercise_section(out: &mut String, items: &BTreeMap<String, Item>) {
    out.push_str("## Exercises: `exercises/<id>/exercise.toml`\n\n");
    table(out, items, "ExerciseSpec", &[]);
    let _ = writeln!(
        out,
        "An exercise needs at least {} hints (distinct, none empty), is listed in its lesson's `exercises`, and its folder's other files (besides `README.md`) are starter files copied into the learner's workspace. Its `README.md` gives the instructions; a **task** is an item of a top-level numbered list (`1. …`), and a check's `task` must be one of those numbers.\n",
        super::lint::MIN_HINTS
    );
    out.push_str("`difficulty`:\n\n");
    values(out, items, "Difficulty");
    out.push_str("`backends`:\n\n");
    values(out, items, "BackendKind");
    out.push_str("### `[vars]`: names made for each learner\n\n`name = \"kind\"`; the value is derived from the learner's seed, so two learners get different names and one learner the same ones every time:\n\n");
    values(out, items, "VarKind");
    out.push_str(
        "### Built-in variables\n\nEvery exercise has these, from the backend it runs on:\n\n",
    );
    for v in BUILT_IN_VARS {
        let _ = writeln!(out, "- `{{{{{v}}}}}`: {}", built_in_var_doc(v));
    }
    out.push_str("\nA `{{name}}` may appear in the README, hints, setup steps, the explanation, starter files, grader checks, solutions and wrong variants; the lint rejects a name that is not declared under `[vars]`, saved by an earlier setup step or built in.\n\n");
    out.push_str("### `[[setup]]`: steps run before the learner starts\n\nEach step has `run` (a console command) or `dataset` (a generated file):\n\n");
    table(out, items, "SetupStep", &[]);
    let _ = writeln!(
        out,
        "Dataset generators: {}.\n",
        keylab_mask::generate::TABLES
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str("### Lab identities\n\nA `profile` anywhere (exercise, setup, checks, `--profile` in scripts) is one of: ");
    let profiles: Vec<String> = super::authoring::lab_profiles()
        .into_iter()
        .map(|p| format!("`{p}`"))
        .collect();
    out.push_str(&profiles.join(", "));
    out.push_str(".\n\n");
}

fn grader_section(out: &mut String, items: &BTreeMap<String, Item>) {
    out.push_str("## Graders: `graders/<id>.toml`\n\n");
    table(out, items, "GraderSpec", &[]);
    out.push_str("`[masking]` (needed by the masking checks):\n\n");
    table(out, items, "MaskingSpec", &[]);
    out.push_str(
        "Every `[[check]]` has these fields and exactly one kind table (`[check.<kind>]`):\n\n",
    );
    table(out, items, "CheckSpec", &[]);
    let examples = examples();
    for (kind, ty, doc) in macro_rows("check_kinds") {
        // The kind's own type says it at more length; the list's line when it says nothing.
        let about = Some(items[&ty].docs.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or(format!("{doc}."));
        let _ = writeln!(out, "### `[check.{kind}]`\n\n{about}\n");
        table(out, items, &ty, &[]);
        match ty.as_str() {
            "SimulateCheck" => {
                out.push_str("Each `[[check.simulate.request]]`:\n\n");
                table(out, items, "SimulatedRequest", &[]);
                out.push_str("`expect`:\n\n");
                values(out, items, "Expect");
                let actions: Vec<String> = keylab_engine::operations::actions()
                    .into_iter()
                    .map(|a| format!("`{a}`"))
                    .collect();
                let _ = writeln!(
                    out,
                    "`action` is one the engine decides: {}.\n",
                    actions.join(", ")
                );
            }
            "DocumentCheck" => {
                out.push_str("Each `[[check.document.expect]]`:\n\n");
                table(out, items, "DocumentExpect", &[]);
                out.push_str("`api`:\n\n");
                values(out, items, "DocumentApi");
            }
            "AuditCheck" => {
                let ops: Vec<String> = keylab_engine::operations::operations()
                    .into_iter()
                    .map(|a| format!("`{a}`"))
                    .collect();
                let _ = writeln!(
                    out,
                    "`operation` is one the engine serves: {}.\n",
                    ops.join(", ")
                );
            }
            _ => {}
        }
        if let Some((file, block)) = examples.get(kind.as_str()) {
            let _ = writeln!(
                out,
                "Example (from the built-in pack's `{file}`):\n\n```toml\n{block}\n```\n"
            );
        }
    }
    out.push_str("## Solutions and wrong variants\n\n");
    let _ = writeln!(
        out,
        "`graders/<id>/solution` and each `graders/<id>/wrong/<misconception>` (at least {}) is a console script (one command per line, `#` comments, `{{{{name}}}}` filled in) or a folder of workspace files with an optional `script`. A line starting with `!` is expected to fail. What `keylab verify` proves:\n",
        super::lint::MIN_WRONG
    );
    for line in VERIFY.lines().take_while(|l| l.starts_with("//!")) {
        // Rustdoc links read as code.
        let line = line.replace("[`", "`").replace("`]", "`");
        out.push_str(line.trim_start_matches("//!").trim_start());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_field_the_parser_reads_is_in_the_reference() {
        let items = items();
        let rows = macro_rows("check_kinds");
        let names: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, CheckKind::NAMES);
        for (_, ty, doc) in &rows {
            assert!(items.contains_key(ty) && !doc.is_empty(), "{ty}");
        }
        let spec: Vec<&str> = items["CheckSpec"]
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(spec, ["title", "task", "fail", "needs"]);
        let secure = items["SimulatedRequest"]
            .fields
            .iter()
            .find(|f| f.name == "secure")
            .unwrap();
        assert_eq!(secure.default.as_deref(), Some("true"));
        let kinds: Vec<&str> = items["VarKind"]
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(kinds, ["bucket", "alias", "name", "number"]);
        let caps: Vec<String> = macro_rows("capabilities")
            .into_iter()
            .map(|r| r.0)
            .collect();
        let all: Vec<&str> = super::super::Capability::ALL
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(caps, all);
        assert_eq!(
            examples().len(),
            CheckKind::NAMES.len(),
            "an example per kind"
        );
        for v in BUILT_IN_VARS {
            assert!(!built_in_var_doc(v).is_empty(), "{v}");
        }
        // Every field of every table a pack writes has its words.
        for (name, item) in &items {
            for f in &item.fields {
                assert!(!f.docs.is_empty(), "{name}.{} has no doc comment", f.name);
            }
        }
    }
}
