//! Reports of a `check` or a `verify`: human text, JSON compatible with Exercism's
//! `results.json` version 3 (`version`, `status`, `message`, `tests[{name, status, message,
//! output, test_code, task_id}]`, plus our fields under `x-keylab`), and JUnit XML written with
//! `quick-junit`. One list of [`Case`]s feeds all three.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::{Value, json};

use super::grader::Status;

/// One reported test: a check of an exercise, or a stage of a verification.
#[derive(Debug, Clone)]
pub struct Case {
    /// The suite: the exercise (and backend, for verify).
    pub suite: String,
    /// What was tested.
    pub name: String,
    /// Pass, fail or error.
    pub status: Status,
    /// Why it failed.
    pub message: String,
    /// A policy trace or a command's output.
    pub output: Option<String>,
    /// The task of the instructions.
    pub task: Option<u32>,
    /// What the test asserts (the check's kind and line, or the stage).
    pub test_code: String,
    /// How long it took.
    pub duration_ms: u64,
}

/// A whole report.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The cases, in order.
    pub cases: Vec<Case>,
    /// Extra facts for `x-keylab` (backend, seed, hints used, timings).
    pub extra: serde_json::Map<String, Value>,
    /// Problems that do not fail the run by themselves (a check that catches nothing), each
    /// naming its file and line; `keylab verify --strict` fails on them.
    pub warnings: Vec<String>,
}

impl Summary {
    /// `pass` when every case passed, `error` when one could not run, else `fail`.
    pub fn status(&self) -> Status {
        if self.cases.iter().any(|c| c.status == Status::Error) {
            Status::Error
        } else if self.cases.iter().all(|c| c.status.is_ok()) {
            Status::Pass
        } else {
            Status::Fail
        }
    }

    /// Whether everything passed.
    pub fn passed(&self) -> bool {
        self.status() == Status::Pass
    }
}

/// Human text: one line per case, failures with their message and trace.
pub fn text(summary: &Summary) -> String {
    let mut out = String::new();
    let mut suite = "";
    for c in &summary.cases {
        if c.suite != suite {
            suite = &c.suite;
            out.push_str(&format!("{suite}\n"));
        }
        let mark = match c.status {
            Status::Pass => "PASS ",
            Status::Fail => "FAIL ",
            Status::Error => "ERROR",
            Status::NotApplicable => "N/A  ",
        };
        out.push_str(&format!("  {mark} {}\n", c.name));
        if c.status != Status::Pass {
            for line in c.message.lines() {
                out.push_str(&format!("        {line}\n"));
            }
        }
        if let Some(o) = &c.output {
            for line in o.lines() {
                out.push_str(&format!("        | {line}\n"));
            }
        }
    }
    let passed = summary
        .cases
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    let na = summary
        .cases
        .iter()
        .filter(|c| c.status == Status::NotApplicable)
        .count();
    let note = if na > 0 {
        format!(" ({na} not applicable on this backend)")
    } else {
        String::new()
    };
    for w in &summary.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&format!(
        "{}: {passed} of {} passed{note}\n",
        summary.status().word().to_uppercase(),
        summary.cases.len() - na,
    ));
    out
}

/// Exercism `results.json` version 3, with `x-keylab`.
pub fn json(summary: &Summary) -> Value {
    let tests: Vec<Value> = summary
        .cases
        .iter()
        .filter(|c| c.status != Status::NotApplicable)
        .map(|c| {
            let mut t = json!({
                "name": if c.suite.is_empty() { c.name.clone() } else { format!("{} / {}", c.suite, c.name) },
                "status": c.status.word(),
                "message": (c.status != Status::Pass).then(|| c.message.clone()),
                "output": c.output.as_ref().map(|o| o.chars().take(500).collect::<String>()),
                "test_code": c.test_code,
            });
            if let Some(task) = c.task {
                t["task_id"] = json!(task);
            }
            t
        })
        .collect();
    let status = summary.status();
    let message = match status {
        Status::Error => summary
            .cases
            .iter()
            .find(|c| c.status == Status::Error)
            .map(|c| c.message.clone()),
        _ => None,
    };
    let mut extra = summary.extra.clone();
    let not_applicable: Vec<Value> = summary
        .cases
        .iter()
        .filter(|c| c.status == Status::NotApplicable)
        .map(|c| json!({ "name": c.name, "reason": c.message }))
        .collect();
    if !not_applicable.is_empty() {
        extra.insert("not_applicable".into(), Value::Array(not_applicable));
    }
    if !summary.warnings.is_empty() {
        extra.insert("warnings".into(), json!(summary.warnings));
    }
    extra.insert(
        "duration_ms".into(),
        json!(summary.cases.iter().map(|c| c.duration_ms).sum::<u64>()),
    );
    json!({
        "version": 3,
        "status": status.word(),
        "message": message,
        "tests": tests,
        "x-keylab": extra,
    })
}

/// JUnit XML: one suite per exercise (and backend).
pub fn junit(summary: &Summary, name: &str) -> String {
    let mut report = Report::new(name);
    let mut suites: Vec<TestSuite> = Vec::new();
    for c in &summary.cases {
        if suites.last().is_none_or(|s| s.name.as_str() != c.suite) {
            suites.push(TestSuite::new(c.suite.clone()));
        }
        let status = match c.status {
            Status::Pass => TestCaseStatus::success(),
            Status::NotApplicable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.message.clone());
                s
            }
            Status::Fail | Status::Error => {
                let kind = if c.status == Status::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(c.message.clone());
                if let Some(o) = &c.output {
                    s.set_description(o.clone());
                }
                s
            }
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname(c.suite.clone());
        case.set_time(Duration::from_millis(c.duration_ms));
        suites
            .last_mut()
            .expect("a suite was pushed")
            .add_test_case(case);
    }
    report.add_test_suites(suites);
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write JUnit: {e} -->"))
}

/// Renders in the named format (`text`, `json`, `junit`).
pub fn render(summary: &Summary, format: ReportFormat, name: &str) -> String {
    match format {
        ReportFormat::Text => text(summary),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&json(summary)).expect("JSON serializes") + "\n"
        }
        ReportFormat::Junit => junit(summary, name),
    }
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Human text.
    Text,
    /// Exercism results.json v3.
    Json,
    /// JUnit XML.
    Junit,
}

/// A Markdown summary for a CI job page (GitHub's `$GITHUB_STEP_SUMMARY`, GitLab and others
/// render it): one row per suite with its passed cases, then every failure with its message.
pub fn markdown_summary(summary: &Summary, name: &str) -> String {
    let mut suites: Vec<(&str, usize, usize)> = Vec::new();
    for c in &summary.cases {
        match suites.iter_mut().find(|(s, _, _)| *s == c.suite) {
            Some(row) => {
                row.1 += usize::from(c.status.is_ok());
                row.2 += 1;
            }
            None => suites.push((&c.suite, usize::from(c.status.is_ok()), 1)),
        }
    }
    let passed = summary.cases.iter().filter(|c| c.status.is_ok()).count();
    let mut out = format!(
        "## {name}: {}\n\n{passed} of {} passed.\n\n| | suite | passed |\n|---|---|---:|\n",
        if summary.passed() { "passed" } else { "FAILED" },
        summary.cases.len()
    );
    for (suite, ok, total) in &suites {
        let mark = if ok == total { "✅" } else { "❌" };
        out.push_str(&format!(
            "| {mark} | {} | {ok}/{total} |\n",
            suite.replace('|', "\\|")
        ));
    }
    if !summary.warnings.is_empty() {
        out.push_str("\n### Warnings\n\n");
        for w in &summary.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    let failures: Vec<&Case> = summary.cases.iter().filter(|c| !c.status.is_ok()).collect();
    if !failures.is_empty() {
        out.push_str("\n### Failures\n\n");
        for c in failures {
            out.push_str(&format!(
                "- **{}** — {}: {}\n",
                c.suite,
                c.name,
                c.message.lines().next().unwrap_or_default()
            ));
        }
    }
    out
}
