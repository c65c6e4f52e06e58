//! The front ends of the lab on the learner's machine: the [`tui`] (full screen) and [`plain`]
//! mode (line by line, for screen readers, dumb terminals and scripts), both over the
//! [`worker`], which owns the backend and its tokio runtime off the UI thread. Both only format
//! what [`crate::lab::course`] returns.

pub mod plain;
pub mod tui;
pub mod worker;
