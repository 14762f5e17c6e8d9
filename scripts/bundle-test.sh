#!/usr/bin/env bash
# pnpm test:bundle: builds the offline bundle once (pnpm bundle), then installs and uses it inside a
# network namespace with only loopback (scripts/bundle/offline-check.sh), on Node.js 20 (this
# machine's) and on Node.js 24 (the one the bundle build fetched to compile for its ABI).
# Needs root for `unshare -n` (CI runs as root): without it this fails, it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != "0" ]; then
  echo "test:bundle: NOT_ROOT: the offline install test needs root (unshare -n, ip link set lo up). Hint: run it as root, as CI does." >&2
  exit 1
fi
for tool in unshare ip python3 npm tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test:bundle: TOOL_MISSING: $tool is not on PATH. Hint: apt-get install util-linux iproute2 python3-venv" >&2
    exit 1
  fi
done
node20_bin=$(dirname "$(command -v node)")
if [ "$("$node20_bin/node" -p 'process.versions.node.split(".")[0]')" != "20" ]; then
  echo "test:bundle: WRONG_NODE: expected this machine's Node.js to be 20, found $("$node20_bin/node" --version)" >&2
  exit 1
fi
start=$(date +%s)
tarball=$(node scripts/bundle.mjs | tail -n 1)
built=$(date +%s)
echo "# bundle: $tarball, $(stat -c %s "$tarball") bytes, built in $((built - start)) s"
node24_bin=$PWD/bundle/.node24/bin
total_pass=0
total_fail=0
for bin in "$node20_bin" "$node24_bin"; do
  out=$(mktemp)
  status=0
  unshare -n bash scripts/bundle/offline-check.sh "$tarball" "$bin" 2>&1 | tee "$out" || status=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)
  rm -f "$out"
  if [ -z "$line" ]; then
    echo "# the offline check on $bin ended without a result (exit $status)"
    total_fail=$((total_fail + 1))
    continue
  fi
  set -- $line
  total_pass=$((total_pass + $1))
  total_fail=$((total_fail + $3))
  if [ "$status" != 0 ] && [ "$3" = 0 ]; then total_fail=$((total_fail + 1)); fi
done
echo "bundle: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
