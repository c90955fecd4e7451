#!/usr/bin/env bash
# Makes sure what citysoc needs on one machine is installed and running: Node deps are the caller's job;
# this handles nats-server (with JetStream), redis-server and util-linux logger. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${CITYSOC_SERVICES_DIR:-$root/data/services}"
mkdir -p "$state"

log() { printf '[citysoc] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else log "need root for: $*"; return 1; fi; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

missing=()
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v logger >/dev/null || missing+=(bsdutils)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from the OS packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"

if port_open 127.0.0.1 4222; then
  log "NATS already listening on 127.0.0.1:4222"
else
  log "starting nats-server with JetStream (store: $state/nats)"
  mkdir -p "$state/nats"
  nohup "$nats_bin" -js -a 127.0.0.1 -p 4222 -sd "$state/nats" >"$state/nats.log" 2>&1 &
  for _ in $(seq 1 50); do port_open 127.0.0.1 4222 && break; sleep 0.1; done
  port_open 127.0.0.1 4222 || { log "nats-server did not start; see $state/nats.log"; exit 1; }
fi

if port_open 127.0.0.1 6379; then
  log "Redis already listening on 127.0.0.1:6379"
else
  # appendonly: BullMQ jobs (the incident queue) must survive a Redis restart.
  log "starting redis-server with AOF persistence (dir: $state/redis)"
  mkdir -p "$state/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --appendonly yes --appendfsync everysec \
    --dir "$state/redis" --logfile "$state/redis.log" >/dev/null
  for _ in $(seq 1 50); do port_open 127.0.0.1 6379 && break; sleep 0.1; done
  port_open 127.0.0.1 6379 || { log "redis-server did not start; see $state/redis.log"; exit 1; }
fi
