#!/usr/bin/env bash
# Installs the real protocol peers the integration tests and benchmarks talk to, from the OS packages:
# softflowd + nfdump (flow exporter and reference decoder/collector), rsyslog and syslog-ng (syslog senders
# and the rsyslog benchmark baseline), chromium (console browser tests). rsyslog and syslog-ng-core conflict in apt, so syslog-ng is unpacked
# under $CITYSOC_PEERS_DIR (default .cache/peers) with its libraries installed normally.
# No daemon is started: a policy-rc.d refuses service starts during the install. Idempotent; prints where
# each peer is. syslog-ng runs from there with LD_LIBRARY_PATH=<dir>/usr/lib/syslog-ng and --module-path=<dir>/usr/lib/syslog-ng/3.38.
# Tests that need a peer that is still missing skip with a message naming this script.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${CITYSOC_PEERS_DIR:-$root/.cache/peers}"
mkdir -p "$peers"
log() { printf '[citysoc] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else log "need root for: $*"; return 1; fi; }

apt_install() {
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod +x "$policy" && created=1
  fi
  [ -n "${_apt_updated:-}" ] || { as_root apt-get update -qq || true; _apt_updated=1; }
  local status=0
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null || status=$?
  [ "$created" -eq 0 ] || as_root rm -f "$policy"
  return "$status"
}

missing=()
command -v softflowd >/dev/null || missing+=(softflowd)
command -v nfcapd >/dev/null || missing+=(nfdump)
command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
# Debian's chromium drives the console's browser tests (playwright-core, no downloaded browsers).
command -v chromium >/dev/null || missing+=(chromium)
# rsyslog's TLS netstream drivers (omfwd over TLS in the integration tests) ship as separate packages.
rsyslog_mods=/usr/lib/x86_64-linux-gnu/rsyslog
[ -e "$rsyslog_mods/lmnsd_ossl.so" ] || ls /usr/lib/*/rsyslog/lmnsd_ossl.so >/dev/null 2>&1 || missing+=(rsyslog-openssl)
[ -e "$rsyslog_mods/lmnsd_gtls.so" ] || ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from the OS packages"
  apt_install "${missing[@]}" || log "could not install ${missing[*]}; the tests that need them will skip"
fi
# Debian's rsyslog package enables its system service; nothing here should run as the machine's logger.
if [ -x /usr/sbin/rsyslogd ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now rsyslog >/dev/null 2>&1 || true
fi

sng="$peers/syslog-ng"
if [ ! -x "$sng/usr/sbin/syslog-ng" ]; then
  log "unpacking syslog-ng-core under $sng (it conflicts with rsyslog in apt)"
  deps=$(apt-cache depends syslog-ng-core 2>/dev/null | awk '/^ *Depends: [a-z]/ {print $2}' | grep -v -e sysvinit-utils -e lsb-base || true)
  # shellcheck disable=SC2086
  [ -z "$deps" ] || apt_install $deps || log "could not install syslog-ng's libraries"
  tmp="$(mktemp -d)"
  if (cd "$tmp" && apt-get download -qq syslog-ng-core >/dev/null 2>&1); then
    rm -rf "$sng" && mkdir -p "$sng" && dpkg -x "$tmp"/syslog-ng-core_*.deb "$sng"
  else
    log "could not download syslog-ng-core; the syslog-ng tests will skip"
  fi
  rm -rf "$tmp"
fi

printf 'softflowd=%s\nnfcapd=%s\nrsyslogd=%s\nsyslog-ng=%s\nchromium=%s\n' \
  "$(command -v softflowd || true)" "$(command -v nfcapd || true)" \
  "$(command -v rsyslogd || ls /usr/sbin/rsyslogd 2>/dev/null || true)" \
  "$([ -x "$sng/usr/sbin/syslog-ng" ] && echo "$sng/usr/sbin/syslog-ng" || true)" "$(command -v chromium || true)"
