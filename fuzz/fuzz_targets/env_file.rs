//! See `mcp_doctor_checks::fuzzing::env_file`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::env_file(data));
