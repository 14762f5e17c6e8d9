#!/bin/sh
# swanlog, from the offline bundle: runs the bundled CLI with this machine's Node.js (20 or newer;
# better-sqlite3 is shipped compiled for Node.js 20 and 24). SWANLOG_NODE picks another node.
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in /*) self=$link ;; *) self=$(dirname "$self")/$link ;; esac
done
root=$(cd "$(dirname "$self")/.." && pwd)
node=${SWANLOG_NODE:-node}
if ! command -v "$node" >/dev/null 2>&1; then
  echo "swanlog: NODE_MISSING: Node.js was not found (looked for '$node' on PATH). Hint: install Node.js 20 or 24, or set SWANLOG_NODE to its path." >&2
  exit 127
fi
major=$("$node" -e 'process.stdout.write(String(process.versions.node.split(".")[0]))' 2>/dev/null)
case $major in '' | *[!0-9]*) major=0 ;; esac
if [ "$major" -lt 20 ]; then
  echo "swanlog: NODE_TOO_OLD: Node.js $("$node" --version 2>/dev/null) is too old: swanlog needs Node.js 20 or newer. Hint: install Node.js 20 or 24, or set SWANLOG_NODE to its path." >&2
  exit 1
fi
exec "$node" "$root/lib/dist/cli.js" "$@"
