#!/usr/bin/env bash
# The whole test suite: set-up, static checks, the firmware's host tests and
# fuzz smoke run, then every vitest suite (emulator, driver, end to end on the
# virtual board, hardware-in-the-loop targets, browser), then a publish dry
# run. Ends with one "N passed, N failed, N skipped" line over everything.
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

mkdir -p test-results
echo "== firmware host tests and fuzz smoke"
# The host tests' and the fuzzer's logs go to files; shown here only when they fail.
fw_log=test-results/firmware-tests.log
fuzz_log=test-results/fuzz-smoke.log
if make -s -C firmware-bridge test >"$fw_log" 2>&1; then
  grep -E '^[0-9]+ passed, [0-9]+ failed$' "$fw_log" | tail -n 1 | sed 's/^/host tests: /'
else
  status=1
  tail -n 40 "$fw_log"
fi
fw_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$fw_log" | tail -n 1)
# A short fuzz run here; firmware-bridge/fuzz/run.sh runs it for longer.
if make -s -C firmware-bridge fuzz-smoke FUZZ_TIME="${FUZZ_TIME:-3}" >"$fuzz_log" 2>&1; then
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$fuzz_log" | grep -oE '[0-9]+$' | tail -n 1)
  echo "fuzz smoke: ${runs:-?} inputs, no failure (log: $fuzz_log)"
else
  status=1
  echo "fuzz smoke FAILED (log: $fuzz_log):"
  tail -n 40 "$fuzz_log"
fi

echo "== lint (biome, tsc)"
wait "$lint_pid" || status=1
cat "$lint_log"
rm -f "$lint_log"

# Every core (at least two): the suites are independent files.
workers=$(nproc 2>/dev/null || echo 2)
[ "$workers" -ge 2 ] || workers=2
echo "== vitest on ${workers} workers (after ${SECONDS} s)"
npx vitest run --maxWorkers="$workers" --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=1

# What npm would publish: the package's metadata and file list are valid
# (the vitest run above built dist/ through npm pack).
echo "== npm publish --dry-run"
publish_failed=0
if ! npm publish --dry-run --ignore-scripts --loglevel=error >test-results/publish-dry-run.log 2>&1; then
  status=1
  publish_failed=1
  tail -n 20 test-results/publish-dry-run.log
fi
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  const fw = (process.argv[1] || "").match(/^(\d+) passed, (\d+) failed$/);
  if (fw) { passed += +fw[1]; failed += +fw[2]; }
  try {
    const r = JSON.parse(fs.readFileSync("test-results/vitest.json", "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    // A file that fails to load fails no test but is a failure.
    failed += r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
  } catch { failed += 1; }
  failed += Number(process.argv[2] || 0);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$fw_line" "$publish_failed"
echo "test suite: ${SECONDS} s after set-up"
exit $status
