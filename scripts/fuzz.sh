#!/usr/bin/env bash
# Fuzzes every parser of other people's files (fuzz/fuzz_targets) for a bounded time each:
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
# Installs cargo-fuzz if missing. cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Corpora start from the real files of the fixtures (fuzz/seeds.py) and grow in
# fuzz/corpus/<target> (not committed). A crash leaves its input in fuzz/artifacts/<target>/: fix the bug,
# then copy the input to fuzz/regressions/<target>/ so checks/tests/fuzz_regressions.rs replays it in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cd fuzz
# No sanitizer: the crates fuzzed are safe Rust; debug assertions (overflow checks) stay on.
flags=(-s none -O --debug-assertions)
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
cargo fuzz build "${flags[@]}"
python3 seeds.py corpus
status=0
for target in "${targets[@]}"; do
  echo "== $target (${seconds}s)"
  mkdir -p "corpus/$target" "regressions/$target"
  rm -rf "artifacts/$target"
  # -rss_limit_mb: a parser that balloons on a small input is a finding too. Regression inputs are seeds.
  cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
    2>&1 | grep -E '^(#[0-9]+.*(DONE|INITED)|stat::(number_of_executed_units|peak_rss_mb|new_units_added)|==[0-9]+==|SUMMARY|.*panicked|Test unit written)' ||
    true
  if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    echo "!! $target: crashing inputs in fuzz/artifacts/$target"
    status=1
  fi
done
exit "$status"
