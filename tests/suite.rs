//! keylab's integration tests, one module per area, built as one test binary so CI links the
//! AWS SDK once instead of once per file (`autotests = false` in Cargo.toml). Run one area with
//! `cargo test --test suite kms::`.

mod common;

mod authoring;
mod class;
mod cli;
mod containers;
mod crash;
mod deps;
mod exam_quality;
mod fuzz_smoke;
mod kms;
mod kms_asym;
mod kms_mac;
mod localstack;
mod mask;
mod mask_parquet;
mod objectives;
mod policy_cases;
mod runtime;
mod s3;
mod secrets_cli;
mod sts;
mod sts_cli;
mod study;
mod tmux;
mod tui;
mod untrusted;
mod wire;
mod workshop;
