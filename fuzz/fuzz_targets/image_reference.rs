//! See `mcp_doctor_checks::fuzzing::image_reference`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::image_reference(data));
