//! Fuzz target: see `mcp_remote::fuzzing::sse` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_remote::fuzzing::sse(data));
