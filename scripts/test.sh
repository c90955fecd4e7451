#!/usr/bin/env bash
# `npm test`: every check and every test suite, with the services they need.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-node-deps.sh
bash scripts/ensure-services.sh
# Real protocol peers (softflowd, nfdump, rsyslog, syslog-ng); tests that need a missing one skip and say so.
bash scripts/ensure-peers.sh >/dev/null || echo "[citysoc] some protocol peers could not be installed" >&2
step() { printf '\n== %s\n' "$*"; }
step "typecheck"; npx tsc -p tsconfig.json --noEmit && npx tsc -p apps/console/tsconfig.json
step "lint"; npx eslint . --max-warnings 0
step "format"; npx prettier --check . --log-level warn
step "import cycles"; npx madge --circular --extensions ts --ts-config tsconfig.json apps libs test
step "build"; npm run -s build
step "tests"
mkdir -p .cache
status=0
npx jest --ci --runInBand --json --outputFile=.cache/jest-results.json "$@" || status=$?
# One plain closing line that any CI reader understands, whatever jest printed above it.
node -e '
  const r = require("./.cache/jest-results.json");
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$status"
