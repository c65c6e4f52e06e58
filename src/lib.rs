//! keylab: a terminal lab that teaches how to protect data on AWS.
//!
//! The lab's library, above three crates that know nothing of it: `keylab_policy` (IAM policy
//! evaluation with explanations), `keylab_engine` (the built-in KMS and S3 over the real wire
//! protocols) and `keylab_mask` (masking and anonymisation). Here, from the bottom up:
//! [`backend`] (where requests go, and the client pieces the console and grader share),
//! [`console`] (AWS CLI syntax), [`pack`] (content), [`lab`] (sessions, the grader and
//! [`lab::course`], the learner transaction), [`study`] (spaced repetition, drills, the mock
//! exam), [`workshop`] (signed results, the class table) and [`front`] (the terminal app and
//! plain mode). The `keylab` binary is a thin command line over it.
//!
//! Time: the AWS side uses `time` (as s3s and the AWS SDK do), the learner side `chrono` (as
//! rs-fsrs does); the worker stamps a finished check in `chrono`, the one place they meet.

pub mod backend;
pub mod confine;
pub mod console;
pub mod front;
pub mod lab;
pub mod pack;
pub mod sanitize;
pub mod study;
pub mod workshop;
