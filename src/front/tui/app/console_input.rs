//! The console's input line: character positions and Tab completion of commands,
//! operations, options and workspace files.

use super::*;

/// The words the exercise screen handles itself rather than the console.
pub(super) const SCREEN_WORDS: &[&str] = &["check", "clear", "edit", "hint", "reset", "shell"];

/// The words the console completes first: the console's commands and the screen's own.
fn first_words() -> Vec<String> {
    let mut words: Vec<String> = crate::console::COMMANDS
        .iter()
        .map(|c| c.name.to_string())
        .chain(SCREEN_WORDS.iter().map(|w| w.to_string()))
        .collect();
    words.sort();
    words
}

pub(super) fn byte_index(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

/// Completes the last word of the command line from the commands, operations, options and
/// workspace files; several candidates are listed in the output.
pub(super) fn complete(x: &mut ExerciseState) {
    let words: Vec<&str> = x.input.split_whitespace().collect();
    let ends_with_space = x.input.ends_with(' ');
    let (done, partial): (Vec<&str>, &str) = if ends_with_space || words.is_empty() {
        (words.clone(), "")
    } else {
        (words[..words.len() - 1].to_vec(), words[words.len() - 1])
    };
    let files: Vec<String> = x.files.clone();
    let candidates: Vec<String> = match done.as_slice() {
        [] => first_words(),
        ["aws"] => crate::console::SERVICES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["aws", "kms"] => crate::console::kms::operations()
            .map(str::to_string)
            .collect(),
        ["aws", "iam"] => crate::console::iam::iam_operations()
            .map(str::to_string)
            .collect(),
        ["aws", "sts"] => crate::console::iam::sts_operations()
            .map(str::to_string)
            .collect(),
        ["aws", "secretsmanager"] => crate::console::secretsmanager::operations()
            .map(str::to_string)
            .collect(),
        ["aws", "s3api"] => crate::console::s3api::operations()
            .map(str::to_string)
            .collect(),
        ["aws", "s3"] => crate::console::s3::COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["aws", "kms", op, ..] if partial.starts_with("--") => crate::console::kms::options(op)
            .map(|o| format!("--{o}"))
            .chain(["--profile", "--output", "--query"].map(String::from))
            .collect(),
        ["aws", "secretsmanager", op, ..] if partial.starts_with("--") => {
            crate::console::secretsmanager::options(op)
                .map(|o| format!("--{o}"))
                .chain(["--profile", "--output", "--query"].map(String::from))
                .collect()
        }
        ["crypto"] => crate::console::crypto::COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["mask"] => crate::console::mask::COMMANDS
            .iter()
            .map(|s| s.to_string())
            .chain(files.iter().cloned())
            .collect(),
        _ if partial.starts_with("fileb://") || partial.starts_with("file://") => {
            let prefix = if partial.starts_with("fileb://") {
                "fileb://"
            } else {
                "file://"
            };
            files.iter().map(|f| format!("{prefix}{f}")).collect()
        }
        _ => files,
    };
    let matching: Vec<&String> = candidates
        .iter()
        .filter(|c| c.starts_with(partial))
        .collect();
    if matching.is_empty() {
        return;
    }
    let common = matching.iter().skip(1).fold(matching[0].clone(), |acc, c| {
        acc.chars()
            .zip(c.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let mut line = done.join(" ");
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(&common);
    if matching.len() == 1 {
        line.push(' ');
    } else {
        let list: Vec<&str> = matching.iter().map(|s| s.as_str()).collect();
        x.output.push((OutputKind::Info, list.join("  ")));
    }
    x.input = line;
    x.cursor = x.input.chars().count();
}
