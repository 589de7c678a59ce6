#!/usr/bin/env bash
# Installs the peers the benchmark compares Sluice with: Redis (Streams) and NATS (JetStream),
# both from Debian's packages. The bench starts its own throwaway instances on loopback; the
# services the packages enable by default are stopped and disabled so they hold no port.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-peers: not root and no sudo; install redis-server and nats-server yourself" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq

wanted=()
for pkg in redis-server nats-server; do
  candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    echo "install-peers: Debian has no package '$pkg' here; its benchmark rows will say 'skipped: not installed'" >&2
  else
    echo "install-peers: $pkg $candidate"
    wanted+=("$pkg")
  fi
done

if [ "${#wanted[@]}" -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${wanted[@]}"
fi

# The packages may start system services; the bench never uses them.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for svc in redis-server nats-server; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

for bin in redis-server nats-server; do
  if command -v "$bin" >/dev/null 2>&1; then
    echo "install-peers: $bin -> $(command -v "$bin") ($("$bin" --version 2>&1 | head -n 1))"
  else
    echo "install-peers: $bin not installed" >&2
  fi
done
