//! Every input a fuzzer once crashed on (`fuzz/regressions/<target>/*`), replayed through the fuzz target's
//! own entry point (`mcp_doctor_checks::fuzzing`): the bug it found stays fixed. Fuzzing itself runs in
//! `scripts/fuzz.sh`, not here.

use std::path::Path;

use mcp_doctor_checks::fuzzing::TARGETS;

#[test]
fn crash_inputs_of_every_fuzz_target_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some((_, run)) = TARGETS.iter().find(|(t, _)| *t == name) else {
            panic!("{} names no fuzz target", dir.display());
        };
        for input in std::fs::read_dir(&dir).unwrap() {
            let input = input.unwrap().path();
            let data = std::fs::read(&input).unwrap();
            // A panic names the input; the target's own assertions say what broke.
            eprintln!("replaying {}", input.display());
            run(&data);
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no regression inputs under {}",
        root.display()
    );
}
