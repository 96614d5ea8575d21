//! A deployment env file (`--env-file`, a bundle's config.env).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = settings::parse_env_text("deploy.env".into(), text);
});
