//! What a check says: its [`Status`] and [`CheckResult`], and inside the grader the
//! `Failure` of the learner's work (`fail`) or of the pack or backend (`broken`).

use serde::Serialize;

use crate::backend::client::ClientError;

/// A check's outcome.
/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not hold.
    Fail,
    /// It could not be evaluated (the backend failed, the pack is wrong).
    Error,
    /// The backend lacks a capability it needs; reported with the reason, never as a pass.
    /// (`notapplicable` is how progress files before format 2 of keylab spelt it.)
    #[serde(rename = "not_applicable", alias = "notapplicable")]
    NotApplicable,
}

impl Status {
    /// Pass or not applicable: nothing against the learner.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Pass | Status::NotApplicable)
    }

    /// The status in words, for reports and messages.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's title.
    pub title: String,
    /// Its task.
    pub task: Option<u32>,
    /// Pass, fail or error.
    pub status: Status,
    /// What was wrong (empty on pass).
    pub message: String,
    /// The policy evaluator's trace, for failed policy checks.
    pub trace: Option<String>,
    /// The check's kind.
    pub kind: &'static str,
    /// How long it took.
    pub duration_ms: u64,
}

/// Why a check did not pass: the learner's work (`error: false`) or the pack or backend.
/// Why a check did not pass: the learner's work (`error: false`) or the pack or backend.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) trace: Option<String>,
    pub(crate) error: bool,
}

/// A failure of the learner's work.
pub(crate) fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        trace: None,
        error: false,
    }
}

/// A check that could not be evaluated (the pack or the backend is at fault).
pub(crate) fn broken(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        trace: None,
        error: true,
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::Aws {
                code,
                message,
                operation,
            } => fail(format!("{operation} failed with {code}: {message}")),
            ClientError::Transport(m) => broken(m),
        }
    }
}
