#!/usr/bin/env bash
# Debian packages the tests need beyond Node (the README's install step runs this as root).
# Idempotent and quiet when everything is present.
set -euo pipefail
command -v dpkg >/dev/null 2>&1 || exit 0  # not Debian: nothing to install this way
need=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "system-deps: not root; cannot install ${need[*]}" >&2; exit 0; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
