#!/usr/bin/env bash
# `npm start`: set up and run the whole pipeline on this machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-node-deps.sh
# Operator settings (see .env.example) apply to every app.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
bash scripts/ensure-services.sh
CITYSOC_REDIS_URL="$(bash scripts/ensure-durable-redis.sh)"
export CITYSOC_REDIS_URL
npm run -s build
exec node dist/scripts/run-local.js "$@"
