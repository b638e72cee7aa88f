#!/usr/bin/env bash
# Installs what the end-to-end browser suite needs: Debian's Chromium, and from npm axe-core and
# oidc-provider (the OpenID Provider the single sign-on tests start: scripts/oidc-provider/server.mjs).
# Idempotent and quick when everything is already there; `make browser` calls it (and so `make test`).
#
# Playwright's own browser download is not used: the suite drives /usr/bin/chromium.
set -euo pipefail

cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
AXE_JS="node_modules/axe-core/axe.min.js"
OIDC_PROVIDER="node_modules/oidc-provider/package.json"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "install-browser: need root to run: $*" >&2; return 1; fi
}

if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: installing Debian's chromium (and fonts for readable screenshots)"
  # Wait for another apt/dpkg run on the same machine instead of failing on its lock.
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends chromium fonts-dejavu-core fonts-liberation >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null  # its wrapper script complains on stderr about large /dev/shm sizes

# npm ci only when the lock file is newer than what is installed (npm writes this marker).
if [ ! -f "$AXE_JS" ] || [ ! -f "$OIDC_PROVIDER" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  command -v npm >/dev/null 2>&1 || as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends npm >/dev/null
  echo "install-browser: npm ci (axe-core, oidc-provider)"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "install-browser: axe-core $(node -p 'require("./node_modules/axe-core/package.json").version')," \
  "oidc-provider $(node -p 'require("./node_modules/oidc-provider/package.json").version') (node $(node --version))"
