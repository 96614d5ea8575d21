//! See `mcp_doctor_checks::fuzzing::containerd_config_toml`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_doctor_checks::fuzzing::containerd_config_toml(data));
