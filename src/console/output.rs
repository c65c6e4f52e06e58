//! Output as the AWS CLI prints it: `--output json` (4-space indented), `text` (tab-separated,
//! nested lists as rows headed by their upper-cased key) and `table`, after `--query`, which is
//! JMESPath as the AWS CLI evaluates it (the `jmespath` crate): filters, projections,
//! multiselects and functions such as `length()` and `starts_with()`.

use serde_json::Value;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// Tab-separated text.
    Text,
    /// A table.
    Table,
}

impl Format {
    /// Parses `--output`.
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text),
            "table" => Ok(Format::Table),
            other => Err(format!(
                "argument --output: Invalid choice, valid choices are:\n\njson | text | table | yaml | yaml-stream\n\n(got '{other}'; keylab's console prints json, text and table)"
            )),
        }
    }
}

/// Applies `--query` (a JMESPath expression).
pub fn query(value: &Value, q: &str) -> Result<Value, String> {
    let expression = jmespath::compile(q)
        .map_err(|e| format!("Bad value for --query {q}: {}", e.to_string().trim()))?;
    let found = expression
        .search(value)
        .map_err(|e| format!("--query {q}: {}", e.to_string().trim()))?;
    serde_json::to_value(&*found).map_err(|e| format!("--query {q}: {e}"))
}

/// Renders a value.
pub fn render(value: &Value, format: Format) -> String {
    if value.is_null() {
        return String::new();
    }
    match format {
        Format::Json => json(value),
        Format::Text => {
            let mut out = String::new();
            text(value, None, &mut out);
            out
        }
        Format::Table => table(value),
    }
}

fn json(value: &Value) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    serde::Serialize::serialize(value, &mut ser).expect("JSON values serialize");
    String::from_utf8(buf).expect("JSON is UTF-8") + "\n"
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Null => Some("None".into()),
        _ => None,
    }
}

fn text(value: &Value, header: Option<&str>, out: &mut String) {
    match value {
        Value::Array(items) => {
            if items.iter().all(|i| scalar(i).is_some()) {
                let row: Vec<String> = items.iter().filter_map(scalar).collect();
                push_row(out, header, &row);
                return;
            }
            for item in items {
                text(item, header, out);
            }
        }
        Value::Object(map) => {
            let row: Vec<String> = map.values().filter_map(scalar).collect();
            if !row.is_empty() {
                push_row(out, header, &row);
            }
            for (k, v) in map {
                if scalar(v).is_none() {
                    text(v, Some(&k.to_uppercase()), out);
                }
            }
        }
        other => push_row(out, header, &[scalar(other).unwrap_or_default()]),
    }
}

fn push_row(out: &mut String, header: Option<&str>, row: &[String]) {
    let mut cells: Vec<&str> = Vec::new();
    if let Some(h) = header {
        cells.push(h);
    }
    cells.extend(row.iter().map(String::as_str));
    out.push_str(&cells.join("\t"));
    out.push('\n');
}

fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, rows);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, rows);
            }
        }
        other => rows.push((prefix.to_string(), scalar(other).unwrap_or_default())),
    }
}

fn table(value: &Value) -> String {
    let mut rows = Vec::new();
    flatten("", value, &mut rows);
    let kw = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let vw = rows
        .iter()
        .map(|(_, v)| v.chars().count())
        .max()
        .unwrap_or(0);
    let line = format!("+{}+{}+\n", "-".repeat(kw + 2), "-".repeat(vw + 2));
    let mut out = line.clone();
    for (k, v) in rows {
        out.push_str(&format!("| {k:<kw$} | {v:<vw$} |\n"));
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_paths_are_queried_and_the_rest_refused() {
        let v = json!({"KeyMetadata": {"Arn": "arn:k"}, "Aliases": [{"AliasName": "alias/a"}, {"AliasName": "alias/b"}]});
        assert_eq!(query(&v, "KeyMetadata.Arn").unwrap(), json!("arn:k"));
        assert_eq!(query(&v, "Aliases[1].AliasName").unwrap(), json!("alias/b"));
        assert_eq!(
            query(&v, "Aliases[-1].AliasName").unwrap(),
            json!("alias/b")
        );
        assert_eq!(
            query(&v, "Aliases[].AliasName").unwrap(),
            json!(["alias/a", "alias/b"])
        );
        assert_eq!(query(&v, "Missing.Field").unwrap(), Value::Null);
        assert_eq!(
            query(&v, "Aliases[?AliasName=='alias/a'].AliasName").unwrap(),
            json!(["alias/a"])
        );
        assert_eq!(
            query(&v, "Aliases[?starts_with(AliasName, 'alias/')].AliasName").unwrap(),
            json!(["alias/a", "alias/b"])
        );
        assert_eq!(query(&v, "length(Aliases)").unwrap(), json!(2));
        assert!(
            query(&v, "Aliases[?")
                .unwrap_err()
                .contains("Bad value for --query")
        );
    }

    #[test]
    fn text_output_is_tab_separated_with_list_headers() {
        let v =
            json!({"Aliases": [{"AliasName": "alias/a", "TargetKeyId": "k1"}], "Truncated": false});
        assert_eq!(render(&v, Format::Text), "False\nALIASES\talias/a\tk1\n");
        assert_eq!(render(&json!("abc"), Format::Text), "abc\n");
        assert_eq!(
            render(&json!({"a": 1}), Format::Json),
            "{\n    \"a\": 1\n}\n"
        );
        assert!(render(&json!({"a": 1}), Format::Table).contains("| a | 1 |"));
    }
}
