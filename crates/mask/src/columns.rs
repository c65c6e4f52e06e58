//! Failing closed on names: which rules apply to an input, decided before any row is written.
//! A rule's column missing from an input is an error unless the rule says `optional = true`
//! (one rules file can serve tables that join); a name that differs only in case, spaces,
//! `_`/`-` or a byte order mark (`Email` for `email`) is an error naming both spellings, even
//! for an optional rule, since it is almost always the column the rule meant; and an input with
//! none of the rules' columns is an error. JSON Lines rules address fields by JSON Pointer
//! (RFC 6901, `/customer/email`); a plain name is a top-level key.

use super::MaskError;
use super::ops::{Op, Plan};

/// A name folded for the near-miss check: no byte order mark, spaces, `_` or `-`, lower case.
pub fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{feff}' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn rules_error(plan: &Plan, line: usize, message: String, fix: &str) -> MaskError {
    MaskError::Rules {
        file: plan.file.clone(),
        line: Some(line),
        message,
        fix: fix.to_string(),
    }
}

/// The error for a rule column `wanted` that the input spells `found`.
pub fn near_miss(plan: &Plan, line: usize, wanted: &str, found: &str, what: &str) -> MaskError {
    rules_error(
        plan,
        line,
        format!(
            "the rule is for column '{wanted}' and the {what} has '{}' instead: the names differ only in case, spaces, '_'/'-' or a byte order mark, and the rule would not apply",
            found.escape_debug()
        ),
        "spell the rule's column exactly as the input does (or rename the input's column)",
    )
}

/// Whether a rule takes part in this run: in reverse only the reversible ones do.
fn active(op: &Op, reverse: bool) -> bool {
    !reverse || matches!(op, Op::Siv { .. } | Op::Fpe(_))
}

/// Checks the plan against a CSV header; returns the optional rules' columns the input lacks.
pub fn check_csv(plan: &Plan, header: &[String], reverse: bool) -> Result<Vec<String>, MaskError> {
    let mut skipped = Vec::new();
    let mut applied = 0;
    for (column, op, line) in &plan.ops {
        if !active(op, reverse) {
            continue;
        }
        if header.contains(column) {
            applied += 1;
            continue;
        }
        let fold = folded(column);
        if let Some(found) = header.iter().find(|h| folded(h) == fold) {
            return Err(near_miss(plan, *line, column, found, "input's header"));
        }
        if plan.optional.contains(column) {
            skipped.push(column.clone());
            continue;
        }
        return Err(rules_error(
            plan,
            *line,
            format!(
                "column '{column}' is not in the input, so its rule cannot apply; the input's columns are: {}",
                header.join(", ")
            ),
            "correct the column name, or add optional = true to the rule when some inputs legitimately lack the column",
        ));
    }
    if applied == 0 && !skipped.is_empty() {
        let line = plan.ops.first().map_or(1, |(_, _, l)| *l);
        return Err(rules_error(
            plan,
            line,
            format!(
                "no column of the rules is in the input ({}); its columns are: {}",
                skipped.join(", "),
                header.join(", ")
            ),
            "correct the column names, or check that this is the file the rules are for",
        ));
    }
    Ok(skipped)
}

/// A rule's column as a JSON Pointer: itself when it starts with `/`, else the top-level key.
pub fn pointer(column: &str) -> String {
    if column.starts_with('/') {
        return column.to_string();
    }
    format!("/{}", column.replace('~', "~0").replace('/', "~1"))
}

/// The parent pointer and last key of a pointer (`/a/b` → `/a`, `b`), unescaped.
pub fn split_pointer(pointer: &str) -> (&str, String) {
    let at = pointer.rfind('/').unwrap_or(0);
    let key = pointer[at + 1..].replace("~1", "/").replace("~0", "~");
    (&pointer[..at], key)
}

/// The key of `object` that is a near miss of `key`, if any.
pub fn near_key<'a>(
    object: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a String> {
    let fold = folded(key);
    object
        .keys()
        .find(|k| k.as_str() != key && folded(k) == fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_and_folding() {
        assert_eq!(pointer("email"), "/email");
        assert_eq!(pointer("a/b"), "/a~1b");
        assert_eq!(pointer("/customer/email"), "/customer/email");
        assert_eq!(
            split_pointer("/customer/e~1mail"),
            ("/customer", "e/mail".to_string())
        );
        assert_eq!(split_pointer("/email"), ("", "email".to_string()));
        assert_eq!(folded("\u{feff}E-Mail "), folded("email"));
        assert_ne!(folded("emails"), folded("email"));
    }
}
