//! Image references as pods name them: parsing never panics, and a parsed reference printed and parsed
//! again is the same reference (the checks print references in messages and match them against mirrors).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_doctor_checks::containerd::reference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = reference::parse(text) {
        let printed = parsed.to_string();
        let again = reference::parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} parsed as {printed:?}, which does not parse: {e}"));
        assert_eq!(again, parsed, "{text:?} -> {printed:?}");
        let _ = (parsed.hostname(), parsed.object());
    }
});
