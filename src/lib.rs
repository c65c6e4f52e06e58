//! keylab: a terminal lab that teaches how to protect data on AWS.
//!
//! This crate holds the lab's library: [`policy`] (IAM policy parsing and evaluation with
//! explanations), [`engine`] (the built-in AWS emulator, KMS and S3 over the real wire protocols),
//! [`mask`] (masking, pseudonymisation and k-anonymity), [`pack`] (content), [`lab`] (the
//! exercise runtime), [`study`] (spaced repetition, drills, the mock exam, readiness), [`tui`]
//! and [`fsutil`] (durable writes). The `keylab` binary is a thin command line over it.

pub mod backend;
pub mod console;
pub mod front;
pub mod lab;
pub mod pack;
pub mod study;
pub mod workshop;
