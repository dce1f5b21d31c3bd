#!/usr/bin/env bash
# The whole test suite: set-up, static checks, the firmware's host tests and
# fuzz smoke run, then every vitest suite (emulator, driver, end to end on the
# virtual board, hardware-in-the-loop targets, browser). Ends with one
# "N passed, N failed" line over everything.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1

status=0
SECONDS=0
# The static checks run beside the firmware's tests (one core each); their
# output is shown once both are done.
lint_log=$(mktemp)
( npx biome check . && npx tsc --noEmit -p . ) >"$lint_log" 2>&1 &
lint_pid=$!

echo "== firmware host tests and fuzz smoke"
fw_log=$(mktemp)
# A short fuzz run here; firmware-bridge/fuzz/run.sh runs it for longer.
make -s -C firmware-bridge test fuzz-smoke FUZZ_TIME="${FUZZ_TIME:-3}" 2>&1 | tee "$fw_log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
fw_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$fw_log" | tail -n 1)
rm -f "$fw_log"

echo "== lint (biome, tsc)"
wait "$lint_pid" || status=1
cat "$lint_log"
rm -f "$lint_log"

# Every core (at least two): the suites are independent files.
workers=$(nproc 2>/dev/null || echo 2)
[ "$workers" -ge 2 ] || workers=2
echo "== vitest on ${workers} workers (after ${SECONDS} s)"
mkdir -p test-results
npx vitest run --maxWorkers="$workers" --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=1

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0;
  const fw = (process.argv[1] || "").match(/^(\d+) passed, (\d+) failed$/);
  if (fw) { passed += +fw[1]; failed += +fw[2]; }
  try {
    const r = JSON.parse(fs.readFileSync("test-results/vitest.json", "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
    // A file that fails to load fails no test but is a failure.
    failed += r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
  } catch { failed += 1; }
  console.log(`${passed} passed, ${failed} failed`);
' "$fw_line"
echo "test suite: ${SECONDS} s after set-up"
exit $status
