//! IAM policy documents and their evaluation, shared by the engine (key and bucket policies,
//! identity policies) and the graders (policy simulation on a learner's documents).
//!
//! [`document`] parses and validates, [`condition`] implements condition operators and the
//! request context, [`eval`] combines policies into a [`eval::Decision`] with a trace.

pub mod condition;
pub mod document;
pub mod eval;

pub use condition::ContextKeys;
pub use document::{PolicyDocument, PolicyError, PolicyKind};
pub use eval::{Caller, Decision, Denial, Policies, Request, ResourceRules, decide};
