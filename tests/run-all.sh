#!/usr/bin/env bash
# run-all.sh: the single test command: build, unit tests (meson test), integration tests (bats).
#
# Usage (as root, from anywhere): tests/run-all.sh [BATS_FILE...]
#   BUILD_DIR   meson build directory (default: build, relative to the repository)
#   MESON_ARGS  extra arguments for `meson setup` when the build directory is made
#   BATS_FILE_TIMEOUT  seconds one .bats file may take (default 900)
#   SANITIZE=1  also run the unit tests and cli.bats from an ASan/UBSan build (build-asan)
# Prints each suite's output, then "N skipped" when something was skipped, and ends with
# exactly one line "N passed, N failed". Exits 1 when anything failed.
# The acceptance suite (/work/shared/acceptance or $ACCEPTANCE_DIR) is run separately.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src" || exit 1
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR="$src/$BUILD_DIR" ;; esac
export BUILD_DIR

passed=0 failed=0 skipped=0
[ "$(id -u)" -eq 0 ] || echo "warning: not root: the integration tests need root (namespaces, mounts)"
summary() {
  [ "$skipped" -eq 0 ] || echo "$skipped skipped"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
section() { printf '\n==== %s ====\n' "$*"; }

# ---------------------------------------------------------------- build
section "build ($BUILD_DIR)"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # shellcheck disable=SC2086
  if ! meson setup "$BUILD_DIR" ${MESON_ARGS:-}; then
    echo "meson setup failed"
    failed=$((failed + 1))
    summary
  fi
fi
if ! ninja -C "$BUILD_DIR"; then
  echo "build failed"
  failed=$((failed + 1))
  summary
fi

# count_meson_results LOG: "PASSED FAILED SKIPPED" from meson's testlog.json (one object per test)
count_meson_results() {
  python3 - "$1" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
}

# run_unit BUILD: meson test in BUILD, counted
run_unit() {
  section "unit tests (meson test, ${1#"$src"/})"
  local log="$1/meson-logs/testlog.json" p f s unit_rc
  meson test -C "$1" --print-errorlogs </dev/null
  unit_rc=$?
  if [ -s "$log" ]; then
    # one JSON object per test; count by result
    read -r p f s < <(count_meson_results "$log")
    passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
    echo "unit tests: ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
  fi
  if [ "$unit_rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
    echo "meson test failed (exit $unit_rc) without a failed test in $log"
    failed=$((failed + 1))
  fi
}

# ---------------------------------------------------------------- integration tests
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=("$src"/tests/integration/*.bats)
fi
command -v bats >/dev/null || { echo "bats is missing: apt-get install bats"; failed=$((failed + 1)); summary; }
# run_bats FILE [LABEL]: one bats file with BUILD_DIR as exported, counted
run_bats() {
  local f=$1 out rc p s f_ plan
  section "integration: ${f#"$src"/}${2:+ ($2)}"
  out=$(mktemp)
  # stdin from /dev/null: a test that reads stdin by mistake must not hang on the terminal;
  # a file that hangs is stopped after BATS_FILE_TIMEOUT seconds and its missing tests fail
  timeout --kill-after=10 "${BATS_FILE_TIMEOUT:-900}" bats --tap "$f" </dev/null 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || echo "${f#"$src"/} timed out after ${BATS_FILE_TIMEOUT:-900} s"
  # TAP: "ok N name", "ok N name # skip reason", "not ok N name"
  p=$(grep -Ec '^ok [0-9]+' "$out")
  s=$(grep -Eic '^ok [0-9]+ .*# skip' "$out")
  f_=$(grep -Ec '^not ok [0-9]+' "$out")
  plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | head -n 1)
  rm -f "$out"
  # tests that never ran (setup_file failed, bats crashed) count as failed
  if [ -n "$plan" ] && [ $((p + f_)) -lt "$plan" ]; then
    echo "$((plan - p - f_)) of $plan tests in ${f#"$src"/} did not run: counted as failed"
    f_=$((plan - p))
  fi
  passed=$((passed + p - s)) skipped=$((skipped + s)) failed=$((failed + f_))
  if [ "$rc" -ne 0 ] && [ "$f_" -eq 0 ]; then
    # bats itself failed (syntax error, setup_file failed before any test reported)
    echo "bats failed on ${f#"$src"/} (exit $rc) without a failed test"
    failed=$((failed + 1))
  fi
}

run_unit "$BUILD_DIR"

for f in "${files[@]}"; do
  [ -f "$f" ] && run_bats "$f"
done

acc=${ACCEPTANCE_DIR:-/work/shared/acceptance}
if [ -d "$acc" ]; then
  echo
  echo "note: the acceptance suite in $acc is run separately (see its README)"
fi

# ---------------------------------------------------------------- sanitizers
# SANITIZE=1: also build with ASan/UBSan (SANITIZE_BUILD_DIR, default build-asan) and run the
# unit tests and the end-to-end CLI suite with the sanitized binaries (helpers.bash fails a
# file whose daemon log has a sanitizer report)
if [ "${SANITIZE:-0}" = 1 ]; then
  sdir=${SANITIZE_BUILD_DIR:-build-asan}
  case $sdir in /*) ;; *) sdir="$src/$sdir" ;; esac
  section "build with ASan/UBSan ($sdir)"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export ASAN_OPTIONS=abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
  if { [ -f "$sdir/build.ninja" ] || meson setup "$sdir" -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug; } &&
    ninja -C "$sdir"; then
    run_unit "$sdir"
    BUILD_DIR=$sdir run_bats "$src/tests/integration/cli.bats" sanitizers
  else
    echo "sanitizer build failed"
    failed=$((failed + 1))
  fi
fi

section "summary"
summary
