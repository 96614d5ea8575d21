//! See `mcp_doctor_checks::fuzzing::bundle_archive`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::bundle_archive(data));
