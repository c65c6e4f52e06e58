//! Exam practice: spaced repetition over questions and exercises ([`srs`], FSRS), drill rounds
//! ([`drill`]), the timed mock exam ([`exam`]), options shown in a new order every showing
//! ([`showing`]), readiness per DEA-C01 item ([`readiness`]) and
//! the line-by-line drill and exam for plain mode and the command line ([`text`]). Nothing here
//! reads the clock: callers pass the time, so schedules are testable with a fixed clock.

pub mod drill;
pub mod exam;
pub mod readiness;
pub mod showing;
pub mod srs;
pub mod text;
