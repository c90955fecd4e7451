#!/usr/bin/env bash
# Prints the URL of a Redis that persists (AOF) for `npm start`. BullMQ queues (incidents, SLA timers,
# notifications, the national-report outbox) live there, and the API reports not-ready on a Redis that
# keeps nothing on disk. Uses CITYSOC_REDIS_URL if set, else the Redis on 6379 if it has appendonly on,
# else starts citysoc's own AOF Redis on 127.0.0.1:6380 under the data directory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${CITYSOC_SERVICES_DIR:-$root/data/services}"
log() { printf '[citysoc] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if [ -n "${CITYSOC_REDIS_URL:-}" ]; then echo "$CITYSOC_REDIS_URL"; exit 0; fi
aof="$(redis-cli -h 127.0.0.1 -p 6379 --no-raw CONFIG GET appendonly 2>/dev/null | tail -1 | tr -d '"' || true)"
if [ "$aof" = "yes" ]; then echo "redis://127.0.0.1:6379"; exit 0; fi
port=6380
if ! port_open 127.0.0.1 "$port"; then
  log "the Redis on 6379 keeps nothing on disk; starting citysoc's own with AOF on $port (dir: $state/redis-aof)"
  mkdir -p "$state/redis-aof"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --appendonly yes --appendfsync everysec \
    --dir "$state/redis-aof" --logfile "$state/redis-aof.log" >/dev/null
  for _ in $(seq 1 50); do port_open 127.0.0.1 "$port" && break; sleep 0.1; done
  port_open 127.0.0.1 "$port" || { log "redis-server did not start; see $state/redis-aof.log"; exit 1; }
fi
echo "redis://127.0.0.1:$port"
