#!/usr/bin/env bash
# Installs what Tunnelgate needs on a fresh Debian machine, and nothing that is already there:
# the Debian package of every program in scripts/deps.txt that is missing, then `npm ci` when
# node_modules is missing or older than package-lock.json. Safe to run on every `npm test` / `npm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

# scripts/deps.txt: one program per line and the Debian package that provides it ("-": not ours).
missing=()
while read -r cmd pkg _; do
  case $cmd in '' | '#'*) continue ;; esac
  [ "$pkg" = - ] && continue
  # type -P: a file on PATH, not a shell builtin of the same name (kill, echo, test).
  PATH="$PATH:/usr/sbin:/sbin" type -P "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done <scripts/deps.txt
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-deps: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "ensure-deps: installing Debian packages: $pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >&2
  # Debian starts the packaged services; Tunnelgate runs its own instances, so stop them.
  systemctl disable --now redis-server ssh >/dev/null 2>&1 || true
fi

stamp=node_modules/.tunnelgate-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "ensure-deps: node_modules missing or stale; running npm ci" >&2
  npm ci --no-audit --no-fund >&2
  echo "$want" >"$stamp"
fi
