//! Command-line parsing for the console, in the AWS CLI's forms: words split as a POSIX shell
//! does (`shell-words`), `--name value`, `--name value1 value2` for lists, `--flag` /
//! `--no-flag` for booleans, `file://` (text) and `fileb://` (bytes) resolved in the
//! workspace, JSON or shorthand (`k=v,k2=v2`) for maps and structures, and a trailing
//! `> file` that writes the output to the workspace.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// A parsed command: the words before the first option and the options.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Words before the first `--option` (`aws`, `kms`, `encrypt`; or positional arguments).
    pub words: Vec<String>,
    /// Options in order: name (without `--`) and the values that followed it.
    pub options: Vec<(String, Vec<String>)>,
    /// Positional words after options (the AWS CLI allows `get-object … outfile`).
    pub trailing: Vec<String>,
    /// `> file`: where to write the output.
    pub redirect: Option<String>,
}

/// Options whose values are workspace paths (`crypto --in/--out`, `mask --rules/--out`, …).
const PATH_OPTIONS: &[&str] = &["in", "out", "body", "rules", "data-key", "outfile"];

/// Every local path a command line names: its `> file`, `file://` and `fileb://` values, the
/// values of path options, `cat`/`rm`/`mask` file words, the local side of `aws s3 cp` and
/// the outfile of `get-object`. For `keylab pack lint`, which reports paths that would leave
/// the workspace before anything runs (running them is refused anyway).
pub fn local_paths(line: &str) -> Vec<String> {
    let Ok(parsed) = parse_line(line) else {
        return Vec::new();
    };
    let mut paths: Vec<String> = parsed.redirect.iter().cloned().collect();
    let every_value = parsed
        .words
        .iter()
        .chain(parsed.options.iter().flat_map(|(_, v)| v))
        .chain(&parsed.trailing);
    for value in every_value {
        if let Some(p) = value
            .strip_prefix("fileb://")
            .or_else(|| value.strip_prefix("file://"))
        {
            paths.push(p.to_string());
        }
    }
    for (name, values) in &parsed.options {
        if PATH_OPTIONS.contains(&name.as_str()) {
            paths.extend(values.iter().cloned());
        }
    }
    let words: Vec<&str> = parsed.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["cat" | "rm", files @ ..] => paths.extend(files.iter().map(|f| f.to_string())),
        ["mask", rest @ ..] => paths.extend(
            rest.iter()
                .filter(|w| !crate::console::mask::COMMANDS.contains(w))
                .map(|f| f.to_string()),
        ),
        ["aws", "s3", "cp", ends @ ..] => paths.extend(
            ends.iter()
                .chain(
                    &parsed
                        .trailing
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
                .filter(|w| !w.starts_with("s3://"))
                .map(|f| f.to_string()),
        ),
        ["aws", "s3api", "get-object", ..] => {
            // The outfile is the last word, after the options (or taken as an option's
            // second value).
            paths.extend(parsed.trailing.iter().cloned());
            paths.extend(
                parsed
                    .options
                    .iter()
                    .flat_map(|(_, v)| v.iter().skip(1).cloned()),
            );
        }
        _ => {}
    }
    paths.retain(|p| !p.starts_with("s3://"));
    paths
}

/// Splits and parses one command line.
pub fn parse_line(line: &str) -> Result<Parsed, String> {
    let mut tokens = shell_words::split(line)
        .map_err(|e| format!("cannot split the command line: {e} (check the quotes)"))?;
    let mut parsed = Parsed::default();
    if let Some(pos) = tokens.iter().position(|t| t == ">") {
        let target = tokens
            .get(pos + 1)
            .cloned()
            .ok_or("'>' needs a file name after it")?;
        if tokens.len() > pos + 2 {
            return Err("'> file' must come last on the line".into());
        }
        parsed.redirect = Some(target);
        tokens.truncate(pos);
    }
    let mut iter = tokens.into_iter().peekable();
    while let Some(t) = iter.next_if(|t| !t.starts_with("--")) {
        parsed.words.push(t);
    }
    while let Some(t) = iter.next() {
        let Some(name) = t.strip_prefix("--") else {
            parsed.trailing.push(t);
            continue;
        };
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (name.to_string(), None),
        };
        let mut values: Vec<String> = inline.into_iter().collect();
        if values.is_empty() {
            while let Some(v) = iter.next_if(|v| !v.starts_with("--")) {
                values.push(v);
            }
        }
        parsed.options.push((name, values));
    }
    Ok(parsed)
}

impl Parsed {
    /// Takes an option out (last one wins, as in the CLI).
    pub fn take(&mut self, name: &str) -> Option<Vec<String>> {
        let mut found = None;
        self.options.retain(|(n, v)| {
            if n == name {
                found = Some(v.clone());
                false
            } else {
                true
            }
        });
        found
    }

    /// Takes a single-valued option.
    pub fn take_one(&mut self, name: &str) -> Result<Option<String>, String> {
        match self.take(name) {
            None => Ok(None),
            Some(v) if v.len() == 1 => Ok(v.into_iter().next()),
            Some(v) if v.is_empty() => Err(format!("argument --{name}: expected one argument")),
            Some(v) => Err(format!(
                "argument --{name}: expected one argument, got {}: {}",
                v.len(),
                v.join(" ")
            )),
        }
    }

    /// Takes a boolean flag given as `--name` or `--no-name`.
    pub fn take_flag(&mut self, name: &str) -> Option<bool> {
        let yes = self.take(name).map(|_| true);
        let no = self.take(&format!("no-{name}")).map(|_| false);
        no.or(yes)
    }

    /// Fails with the CLI's wording if options are left that nobody took.
    pub fn finish(&self) -> Result<(), String> {
        if self.options.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self
            .options
            .iter()
            .flat_map(|(n, v)| std::iter::once(format!("--{n}")).chain(v.iter().cloned()))
            .collect();
        Err(format!("Unknown options: {}", names.join(", ")))
    }
}

/// Why a parameter value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// The value is malformed (the CLI's usage error).
    #[error("{0}")]
    Usage(String),
    /// A `file://` or `fileb://` file is not in the workspace (yet).
    #[error("{0}")]
    MissingInput(String),
}

impl From<String> for ArgError {
    fn from(message: String) -> ArgError {
        ArgError::Usage(message)
    }
}

/// Reads `file://path` (text) or `fileb://path` (bytes) from the workspace; other values are
/// returned as their bytes.
pub fn load(value: &str, workspace: &Path) -> Result<Vec<u8>, ArgError> {
    let (path, _binary) = match (
        value.strip_prefix("fileb://"),
        value.strip_prefix("file://"),
    ) {
        (Some(p), _) => (p, true),
        (_, Some(p)) => (p, false),
        _ => return Ok(value.as_bytes().to_vec()),
    };
    crate::confine::read(workspace, path).map_err(|e| {
        let message = format!(
            "Error parsing parameter: Unable to load paramfile {value}: {e} (paths are relative to the workspace)"
        );
        if e.is_not_found() {
            ArgError::MissingInput(message)
        } else {
            ArgError::Usage(message)
        }
    })
}

/// A text value: `file://` and `fileb://` load the file.
pub fn load_text(value: &str, workspace: &Path) -> Result<String, ArgError> {
    let bytes = load(value, workspace)?;
    String::from_utf8(bytes)
        .map_err(|_| ArgError::Usage(format!("{value}: the file is not UTF-8 text")))
}

/// A blob value as the AWS CLI v2 reads it: `fileb://` gives the file's bytes; anything else
/// must be base64.
pub fn load_blob(name: &str, value: &str, workspace: &Path) -> Result<Vec<u8>, ArgError> {
    use base64::Engine as _;
    if value.starts_with("fileb://") {
        return load(value, workspace);
    }
    let text = load_text(value, workspace)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| {
            ArgError::Usage(format!(
                "Invalid base64 for --{name}: {:?}. The AWS CLI v2 reads blobs as base64: pass fileb://FILE for raw bytes, or base64-encode the value.",
                truncate(&text, 40)
            ))
        })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    s.chars().take(n).collect::<String>() + "…"
}

/// A JSON value or the CLI's shorthand syntax: `k=v,k2=v2` (maps and structures), and
/// `{k=v}` or `[a,b]` nested one level.
pub fn load_structure(name: &str, value: &str, workspace: &Path) -> Result<Value, ArgError> {
    let text = load_text(value, workspace)?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') && trimmed.contains('"') {
        return serde_json::from_str(trimmed).map_err(|e| {
            ArgError::Usage(format!(
                "Error parsing parameter '--{name}': Invalid JSON: {e}\nJSON received: {trimmed}"
            ))
        });
    }
    shorthand(trimmed)
        .map_err(|e| ArgError::Usage(format!("Error parsing parameter '--{name}': {e}")))
}

/// Parses the CLI's shorthand: `a=1,b=2`, with `{…}` and `[…]` values.
pub fn shorthand(text: &str) -> Result<Value, String> {
    let mut map = Map::new();
    for pair in split_top(text, ',') {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!(
                "Expected: '=', received: end of input for input: {text} (write key=value pairs separated by commas, or JSON)"
            ));
        };
        map.insert(k.trim().to_string(), shorthand_value(v.trim())?);
    }
    Ok(Value::Object(map))
}

fn shorthand_value(v: &str) -> Result<Value, String> {
    if let Some(inner) = v.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
        return shorthand(inner);
    }
    if let Some(inner) = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        return Ok(Value::Array(
            split_top(inner, ',')
                .into_iter()
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        ));
    }
    Ok(Value::String(v.to_string()))
}

fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A string-to-string map from JSON or shorthand.
pub fn load_map(
    name: &str,
    value: &str,
    workspace: &Path,
) -> Result<BTreeMap<String, String>, ArgError> {
    let Value::Object(map) = load_structure(name, value, workspace)? else {
        return Err(ArgError::Usage(format!(
            "Error parsing parameter '--{name}': expected a map (k=v,k2=v2 or a JSON object)"
        )));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(ArgError::Usage(format!(
                "Error parsing parameter '--{name}': the value of {k} must be a string, not {other}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_forms_parse() {
        let p = parse_line(
            r#"aws kms encrypt --key-id alias/app --plaintext fileb://a.txt --encryption-context dept=hr,team=x --grant-tokens t1 t2 --output text --query CiphertextBlob > out.b64"#,
        )
        .unwrap();
        assert_eq!(p.words, ["aws", "kms", "encrypt"]);
        assert_eq!(p.redirect.as_deref(), Some("out.b64"));
        assert_eq!(
            p.options[3],
            (
                "grant-tokens".to_string(),
                vec!["t1".to_string(), "t2".to_string()]
            )
        );
        let mut p =
            parse_line("aws s3api get-object --bucket b --key k out.txt --no-dry-run").unwrap();
        assert_eq!(p.take_one("bucket").unwrap().as_deref(), Some("b"));
        assert_eq!(
            p.take("key").unwrap(),
            ["k", "out.txt"],
            "values run to the next option"
        );
        assert_eq!(p.take_flag("dry-run"), Some(false));
        assert!(parse_line("aws kms encrypt --plaintext 'unclosed").is_err());
    }

    #[test]
    fn shorthand_and_json_give_the_same_structures() {
        let dir = Path::new(".");
        let a = load_structure("x", "EncryptionContextSubset={dept=hr,team=x}", dir).unwrap();
        let b = load_structure(
            "x",
            r#"{"EncryptionContextSubset":{"dept":"hr","team":"x"}}"#,
            dir,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            load_map("encryption-context", "a=1,b=2", dir).unwrap(),
            BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])
        );
        assert!(
            load_map("encryption-context", "nonsense", dir)
                .unwrap_err()
                .to_string()
                .contains("Expected: '='")
        );
        assert!(
            load_blob("plaintext", "not base64!", dir)
                .unwrap_err()
                .to_string()
                .contains("fileb://")
        );
    }
}
