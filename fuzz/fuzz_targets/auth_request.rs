//! Fuzz target: `keylab_engine::fuzzing::auth_request` (the engine's authentication path over a
//! raw request, and the properties of a properly signed one) must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keylab_engine::fuzzing::auth_request(data));
