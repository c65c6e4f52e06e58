//! Fuzz target: `keylab_engine::fuzzing::policy_parser` must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keylab_engine::fuzzing::policy_parser(data));
