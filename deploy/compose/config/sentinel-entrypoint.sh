#!/bin/sh
# Sentinel rewrites its config file, so it is generated in the data volume at start. The app password file
# doubles as the password for Sentinel's own clients (citysoc reads CITYSOC_REDIS_SENTINEL_PASSWORD_FILE).
set -eu
pw="$(cat /run/secrets/redis_app_password)"
conf=/data/sentinel.conf
if [ ! -f "$conf" ]; then
  cat >"$conf" <<CONF
port 0
tls-port 26379
tls-cert-file /run/secrets/redis_crt
tls-key-file /run/secrets/redis_key
tls-ca-cert-file /run/secrets/ca_crt
tls-auth-clients optional
tls-replication yes
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
requirepass $pw
sentinel monitor citysoc redis-a 6379 2
sentinel auth-user citysoc citysoc
sentinel auth-pass citysoc $pw
sentinel down-after-milliseconds citysoc 5000
sentinel failover-timeout citysoc 30000
sentinel parallel-syncs citysoc 1
CONF
fi
exec redis-sentinel "$conf"
