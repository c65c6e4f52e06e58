//! Fuzz target: `keylab_engine::fuzzing::s3_request` must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keylab_engine::fuzzing::s3_request(data));
