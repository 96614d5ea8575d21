#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, then runs every test, first
# in the debug profile, then the end-to-end tests again against the release binary users run.
# Needs: Debian/Ubuntu with apt (root or sudo) and the Rust toolchain with cargo-nextest or cargo test.
# Everything else the tests read is in the repository (the JSON Schema and the JUnit XSD under
# runner/schema/); an external JUnit XSD is used as well when MCP_DOCTOR_JUNIT_XSD names one or
# ../shared/schemas/junit.xsd exists, but none is required.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# xmllint validates every JUnit file the suite writes against runner/schema/junit.xsd.
if ! command -v xmllint >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libxml2-utils >/dev/null
fi

status=0
if cargo nextest --version >/dev/null 2>&1; then
  # The crates hold no runnable doctests (the one example in check.rs is `ignore`), so nextest covers all.
  cargo nextest run --workspace --no-fail-fast || status=$?
  # The release binary: every fixture scenario replayed, live through fixture-apiserver and replayed
  # from its recording, and every CLI test. assert_cmd runs the binary of the test's own profile, i.e.
  # target/release/mcp-doctor (fixtures.rs asserts it).
  cargo nextest run --cargo-profile release -p mcp-doctor --test fixtures --test cli --no-fail-fast ||
    status=$?
else
  cargo test --workspace --no-fail-fast || status=$?
  cargo test --release -p mcp-doctor --test fixtures --test cli --no-fail-fast || status=$?
fi
exit "$status"
