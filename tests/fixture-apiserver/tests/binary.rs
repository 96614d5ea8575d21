//! The `fixture-apiserver` binary: prints a usable kubeconfig path and serves until stopped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_a_kubeconfig_and_serves_the_fixture() {
    let fixture = tempfile::tempdir().unwrap();
    let nodes = fixture.path().join("cluster/nodes");
    std::fs::create_dir_all(&nodes).unwrap();
    std::fs::write(
        nodes.join("_cluster.json"),
        r#"{"items": [{"metadata": {"name": "node-a"}}]}"#,
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_fixture-apiserver"))
        .arg(fixture.path())
        .args(["--page-size", "1", "--latency-ms", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let path = line
        .trim_end()
        .strip_prefix("KUBECONFIG=")
        .map(std::path::PathBuf::from);
    let still_running = child.try_wait().unwrap().is_none();
    let kubeconfig = path
        .as_ref()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default());
    // Ctrl-C, as a user would stop it.
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let exit = child.wait().unwrap();

    assert!(
        still_running,
        "the server keeps serving after printing the kubeconfig"
    );
    assert!(interrupted.success());
    assert!(exit.success(), "Ctrl-C is a clean stop: {exit}");
    let kubeconfig = kubeconfig.unwrap_or_else(|| panic!("first line is {line:?}"));
    assert!(
        kubeconfig.contains("server: \"https://127.0.0.1:"),
        "{kubeconfig}"
    );
    assert!(
        kubeconfig.contains("current-context: \"fixture\""),
        "{kubeconfig}"
    );
    assert!(!path.unwrap().exists(), "the kubeconfig is removed on exit");
}
