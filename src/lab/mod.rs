//! The exercise runtime: sessions (an exercise's workspace and backend, set up from the pack),
//! the grader, reports, `verify` (proving a pack's solutions pass and its wrong variants fail)
//! and the learner's progress.

pub mod check;
mod checks;
pub mod course;
pub mod document;
pub mod grader;
pub mod learner;
pub mod masking;
pub mod progress;
pub mod report;
pub mod session;
pub mod vars;
pub mod verify;
