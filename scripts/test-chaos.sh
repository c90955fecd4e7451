#!/usr/bin/env bash
# `npm run test:chaos`: faults on a 3-node JetStream cluster, Redis (AOF + Sentinel) and each app while
# events flow. CITYSOC_CHAOS_EVENTS sets the volume: 100,000 by default (the issue's figure; CI runs it too).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-services.sh
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || { echo "[citysoc] nats-server missing" >&2; exit 1; }
if [ "${CITYSOC_CHAOS_SKIP_BUILD:-}" != "1" ]; then npm run -s build; fi
export CITYSOC_CHAOS_EVENTS="${CITYSOC_CHAOS_EVENTS:-100000}"
echo "[citysoc] chaos suite with CITYSOC_CHAOS_EVENTS=$CITYSOC_CHAOS_EVENTS"
exec npx jest -c jest.chaos.config.js --runInBand --ci "$@"
