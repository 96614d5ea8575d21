//! See `mcp_doctor_checks::fuzzing::hosts_toml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::hosts_toml(data));
