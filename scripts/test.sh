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
# The http01 peers test (checks/tests/http01_peers.rs): nginx plays the front doors, pebble (Let's Encrypt's
# test CA) and pebble-challtestsrv referee them. Under CI a missing peer fails that test instead of skipping it.
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1 || need+=(pebble)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Debian nginx package starts a system nginx on port 80 where a service manager runs; the test binds
# loopback addresses on 80 and 443 itself, so a system nginx must not hold them.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl stop nginx || true
fi

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
