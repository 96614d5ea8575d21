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

# The DNS tests run a real BIND (named) on a loopback port; in CI a missing named fails them.
if ! command -v named >/dev/null 2>&1 && [ ! -x /usr/sbin/named ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bind9 >/dev/null
fi
# Debian starts named as a service on install where systemd runs; the tests start their own on free
# loopback ports, so a system named on port 53 does not disturb them.
# The http01 peers test (checks/tests/http01_peers.rs): nginx plays the front doors, pebble (Let's Encrypt's
# test CA) and pebble-challtestsrv referee them; tests/front_door_cli.rs and tests/platform_endpoints_cli.rs
# use the same nginx (through tests/peers). Under CI a missing peer fails those tests instead of skipping them.
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1 || need+=(pebble)
# The containerd differential test (checks/tests/containerd_differential.rs): a real containerd pulls through
# CRI from docker-registry instances on loopback (checks/tests/registry_snippet_peers.rs pulls through a generated
# hosts.toml with ctr, inside a network namespace of its own: `ip netns`, iproute2); unshare (util-linux) gives
# containerd its private /etc/hosts. checks/tests/registry_peers.rs and tests/registry_cli.rs use the same
# docker-registry and nginx. Every peer is started through the one harness, tests/peers.
command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 || need+=(containerd)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
# tests/install.rs answers `install`'s per-step question on a pseudo-terminal that `script` (bsdutils) gives.
command -v script >/dev/null 2>&1 || need+=(bsdutils)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
# tests/ci_output.rs: each shell checks the completion script generated for it (bash -n, zsh -n,
# fish --no-execute), man(1) formats the generated man pages, and a real kubectl runs the binary as the
# plugin `kubectl mcp-doctor` against the fixture API server.
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
# tests/bench_load.rs runs bench/scale.sh --load, which measures with curl and GNU time and loads with kubectl.
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
# tests/metrics_cli.rs: promtool checks the --metrics files, and a real Prometheus (started by the test on a
# loopback port, its own config and storage in a temporary directory) scrapes `mcp-doctor serve`.
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Debian nginx package starts a system nginx on port 80 where a service manager runs; the test binds
# loopback addresses on 80 and 443 itself, so a system nginx must not hold them.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl stop nginx || true
fi
# Debian starts a system containerd and docker-registry (port 5000 on all addresses) where a service manager
# runs; the test starts its own on 127.0.60.x and 127.0.0.1:35000/35443, so the system registry must not hold
# port 5000 on every address.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $SUDO systemctl stop docker-registry || true
fi
# Debian's prometheus package starts a system Prometheus (port 9090) where a service manager runs; the tests
# start their own on free loopback ports and do not need it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
fi

status=0
if cargo nextest --version >/dev/null 2>&1; then
  # The crates hold no runnable doctests (the one example in check.rs is `ignore`), so nextest covers all.
  cargo nextest run --workspace --no-fail-fast || status=$?
  # The release binary: every fixture scenario replayed, live through fixture-apiserver and replayed
  # from its recording, and every CLI test (DNS against a real BIND, TLS against in-test servers, the
  # hostile-input suite).
  # assert_cmd runs the binary of the test's own profile, i.e. target/release/mcp-doctor (fixtures.rs
  # asserts it).
  cargo nextest run --cargo-profile release -p mcp-doctor --test fixtures --test cli --test dns_cli --test front_door_cli --test registry_cli --test platform_endpoints_cli --test probe_pods_cli --test tls --test ci_output --test rbac_cli --test metrics_cli --test hostile --test install --test bundle --test bundle_nodes --test diff --test worst_case --test request_economy --test bench_load --no-fail-fast ||
    status=$?
else
  cargo test --workspace --no-fail-fast || status=$?
  cargo test --release -p mcp-doctor --test fixtures --test cli --test dns_cli --test front_door_cli --test registry_cli --test platform_endpoints_cli --test probe_pods_cli --test tls --test ci_output --test rbac_cli --test metrics_cli --test hostile --test install --test bundle --test bundle_nodes --test diff --test worst_case --test request_economy --test bench_load --no-fail-fast || status=$?
fi
exit "$status"
