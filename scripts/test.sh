#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, then runs every test.
# Needs: Debian/Ubuntu with apt (root or sudo) and the Rust toolchain with cargo-nextest or cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# xmllint validates every JUnit file the suite writes against ../shared/schemas/junit.xsd.
if ! command -v xmllint >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libxml2-utils >/dev/null
fi

# The DNS tests run a real BIND (named) on a loopback port; in CI a missing named fails them.
if ! command -v named >/dev/null 2>&1 && [ ! -x /usr/sbin/named ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bind9 >/dev/null
fi
# Debian starts named as a service on install where systemd runs; the tests start their own on free
# loopback ports, so a system named on port 53 does not disturb them.

# The JUnit schema ships beside the repository (../shared); point the tests at it explicitly.
if [ -z "${MCP_DOCTOR_JUNIT_XSD:-}" ] && [ -f ../shared/schemas/junit.xsd ]; then
  export MCP_DOCTOR_JUNIT_XSD="$PWD/../shared/schemas/junit.xsd"
fi

if cargo nextest --version >/dev/null 2>&1; then
  # The crates hold no runnable doctests (the one example in check.rs is `ignore`), so nextest covers all.
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
