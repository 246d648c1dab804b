//! Fuzz target: see `mcp_remote::fuzzing::metadata_and_tokens` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_remote::fuzzing::metadata_and_tokens(data));
