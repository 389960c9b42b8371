#!/usr/bin/env bash
# The whole suite: Biome (format + lint), the TypeScript type check, then Vitest (unit and
# integration against real Redis and lab hubs). Ends with the plain line CI reads:
#   tests: N passed, N failed[, N skipped]
# where the static checks count as one test each.
set -uo pipefail
cd "$(dirname "$0")/.."
results=.vitest-results.json
rm -f "$results"

static_passed=0
static_failed=0
run_static() {
  local name=$1
  shift
  if "$@"; then
    echo "$name: ok"
    static_passed=$((static_passed + 1))
  else
    echo "$name: FAILED"
    static_failed=$((static_failed + 1))
  fi
}
run_static biome npx biome check .
run_static typecheck npx tsc --noEmit

npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
vitest_rc=$?

node --input-type=module - "$results" "$static_passed" "$static_failed" "$vitest_rc" <<'JS'
import { existsSync, readFileSync } from 'node:fs';
const [file, sp, sf, rc] = process.argv.slice(2);
let passed = Number(sp);
let failed = Number(sf);
let skipped = 0;
if (existsSync(file)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A suite that fails to load (syntax error, failing hook) has no failed tests of its own.
  failed += r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed')).length;
} else if (Number(rc) !== 0) {
  failed += 1;
}
const tail = skipped > 0 ? `, ${skipped} skipped` : '';
console.log(`tests: ${passed} passed, ${failed} failed${tail}`);
process.exit(failed > 0 || Number(rc) !== 0 ? 1 : 0);
JS
