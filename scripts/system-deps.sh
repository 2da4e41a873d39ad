#!/usr/bin/env bash
# Debian packages the tests need beyond Node: run on purpose by `npm run setup:test` (and .ci/run), never by
# `npm install` or `npm test`. It installs only as root, and only what is missing.
# Idempotent and quiet when everything is present.
set -euo pipefail
command -v dpkg >/dev/null 2>&1 || exit 0  # not Debian: nothing to install this way
need=()
for p in "$@"; do
  # Removed packages keep a dpkg record ("deinstall ok config-files"): only "installed" counts.
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "system-deps: not root; cannot install ${need[*]}" >&2; exit 0; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
