#!/usr/bin/env bash
# Runs inside a network namespace with only loopback (scripts/bundle-test.sh starts it with
# `unshare -n`): unpacks the bundle, starts its server, installs the TS SDK with npm --offline and
# the Python wheel with pip --no-index, logs a run with each, syncs both and pulls them back.
# Usage: offline-check.sh <tarball> <dir holding the node to use>
set -euo pipefail
tarball=$1
nodebin=$2
ip link set lo up
if curl --version >/dev/null 2>&1 && curl -s -m 3 -o /dev/null https://registry.npmjs.org/ 2>/dev/null; then
  echo "FAIL: the network is reachable inside the namespace" >&2
  exit 1
fi
work=$(mktemp -d /tmp/swanlog-offline.XXXXXX)
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# An empty HOME, npm cache and configuration: this machine's settings point at local package
# stores, which would let the installs succeed for the wrong reason.
export HOME=$work/home
mkdir -p "$HOME"
export npm_config_cache=$work/npm-cache
# (npm 11 refuses /dev/null for both, "double-loading config": two empty files instead.)
: >"$work/npmrc-global"
: >"$work/npmrc-user"
export npm_config_globalconfig=$work/npmrc-global npm_config_userconfig=$work/npmrc-user
export PIP_CONFIG_FILE=/dev/null
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS npm_config_registry SWANLOG_LOGDIR SWANLOG_HOST SWANLOG_API_KEY
export PATH=$nodebin:/usr/local/bin:/usr/bin:/bin
pass=0
fail=0
check() { # check <name> <command...>
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
    pass=$((pass + 1))
  else
    echo "not ok - $name"
    fail=$((fail + 1))
  fi
}
node_version=$(node --version)
echo "# Node.js $node_version, $(python3 --version)"

t0=$(date +%s.%N)
tar xzf "$tarball" -C "$work"
top=$(echo "$work"/swanlog-*/)
top=${top%/}
version=$(basename "$top")
version=${version#swanlog-}
swanlog=$top/bin/swanlog
t_unpack=$(date +%s.%N)

check "bin/swanlog --version prints $version" test "$("$swanlog" --version)" = "$version"
# The launcher's own checks: no Node.js, and a Node.js older than 20 (a stand-in that says 18).
printf '#!/bin/sh\ncase "$1" in --version) echo v18.20.0 ;; *) printf 18 ;; esac\n' >"$work/node18"
chmod +x "$work/node18"
too_old() {
  local err
  err=$(SWANLOG_NODE="$work/node18" "$swanlog" --version 2>&1 >/dev/null) && return 1
  case $err in *NODE_TOO_OLD*v18.20.0*"20 or newer"*) return 0 ;; *) echo "$err" >&2; return 1 ;; esac
}
missing() {
  local err
  err=$(SWANLOG_NODE=/nonexistent/node "$swanlog" --version 2>&1 >/dev/null) && return 1
  case $err in *NODE_MISSING*) return 0 ;; *) echo "$err" >&2; return 1 ;; esac
}
check "bin/swanlog refuses Node.js 18 with NODE_TOO_OLD" too_old
check "bin/swanlog without Node.js says NODE_MISSING" missing

"$swanlog" server --data "$work/server" --port 5090 >"$work/server.log" 2>&1 &
server_pid=$!
up=0
for _ in $(seq 1 100); do
  if node -e 'fetch("http://127.0.0.1:5090/").then(async(r)=>process.exit(r.ok&&(await r.text()).includes("<title>swanlog")?0:1),()=>process.exit(1))'; then
    up=1
    break
  fi
  sleep 0.1
done
check "bin/swanlog server serves the dashboard on 127.0.0.1:5090" test "$up" = 1
export SWANLOG_HOST=http://127.0.0.1:5090
SWANLOG_API_KEY=$("$swanlog" server key create --data "$work/server" --workspace team)
export SWANLOG_API_KEY

# The TS SDK, in a fresh project.
mkdir "$work/ts" && cd "$work/ts"
echo '{"name":"train","private":true,"type":"module"}' >package.json
t_npm0=$(date +%s.%N)
check "npm install --offline of the TS SDK" npm install --offline --no-audit --no-fund --loglevel=error "$top/npm/swanlog-$version.tgz"
t_npm=$(date +%s.%N)
cat >train.mjs <<'JS'
import { init } from 'swanlog';
const run = await init({ project: 'offline', config: { lr: 0.001 } });
for (let step = 0; step < 100; step++) run.log({ 'train/loss': 1 / (step + 1) });
await run.finish();
console.log(run.id);
JS
ts_id=$(node train.mjs || true)
check "the TS SDK logs a run" test -n "$ts_id"

# The Python SDK, in a fresh venv.
python3 -m venv "$work/venv"
t_pip0=$(date +%s.%N)
check "pip install --no-index of the wheel" "$work/venv/bin/pip" install --no-index --quiet --disable-pip-version-check "$top/python/swanlog-$version-py3-none-any.whl"
t_pip=$(date +%s.%N)
mkdir "$work/py" && cd "$work/py"
py_id=$("$work/venv/bin/python" -c '
import swanlog
run = swanlog.init(project="offline", config={"lr": 0.001})
for step in range(100):
    swanlog.log({"train/loss": 1 / (step + 1)})
run.finish()
print(run.id)' || true)
check "the Python SDK logs a run" test -n "$py_id"
check "the Python SDK reports version $version" test "$("$work/venv/bin/python" -c 'import swanlog; print(swanlog.__version__)')" = "$version"

# Both runs to the server, then back from it into an empty log directory.
check "swanlog sync uploads the TS run" "$swanlog" sync "$work/ts/swanlog"
check "swanlog sync uploads the Python run" "$swanlog" sync "$work/py/swanlog"
pulled() { # pulled <id>: the server holds the run with its 100 steps
  "$swanlog" pull "$1" --logdir "$work/pulled" --json >"$work/pull-$1.json" &&
    node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.exit(j.lastStep===99?0:1)' "$work/pull-$1.json"
}
check "the server holds the TS run (pulled back, last step 99)" pulled "$ts_id"
check "the server holds the Python run (pulled back, last step 99)" pulled "$py_id"
# The server's threads (chunk checks, started by the first upload; the checkpoint, 0.5 s after
# uploads pause) start from files beside the bundled CLI: one missing would be a warning here.
sleep 1
check "the server's threads started from the bundle (no warning in its log)" bash -c "! grep -i warning '$work/server.log'"

kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
if [ "$fail" -gt 0 ]; then
  echo "# server log:"
  cat "$work/server.log"
fi
awk -v a="$t0" -v b="$t_unpack" -v c="$t_npm0" -v d="$t_npm" -v e="$t_pip0" -v f="$t_pip" \
  'BEGIN { printf "# install time on Node.js '"$node_version"': unpack %.2f s + npm install %.2f s + pip install %.2f s = %.2f s\n", b-a, d-c, f-e, (b-a)+(d-c)+(f-e) }'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
