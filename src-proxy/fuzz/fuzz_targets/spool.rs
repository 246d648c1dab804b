//! Fuzz target: see `mcp_remote::fuzzing::spool` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_remote::fuzzing::spool(data));
