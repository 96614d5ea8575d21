//! See `mcp_doctor_checks::fuzzing::bundle_manifest`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::bundle_manifest(data));
