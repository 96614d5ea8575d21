//! See `mcp_doctor_checks::fuzzing::registries_yaml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::registries_yaml(data));
