//! Fuzz target: see `mcp_remote::fuzzing::client_lines` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_remote::fuzzing::client_lines(data));
