#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: installs Debian's postgresql when missing,
# makes a cluster in a temp dir owned by `postgres` (initdb and postgres refuse root), starts it on
# a free port, exports SWANLOG_TEST_DATABASE_URL, runs "$@" and stops and removes the cluster.
#   scripts/with-postgres.sh node scripts/run-tests.mjs storage
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-postgres.sh <command...>" >&2
  exit 2
fi
# A database given already (a cluster of one's own, or an outer with-postgres.sh) is used as it is.
if [ -n "${SWANLOG_TEST_DATABASE_URL:-}" ]; then exec "$@"; fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

bindir=""
find_bindir() {
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
}
find_bindir
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "installing postgresql (Debian package) for the PostgreSQL tests"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  find_bindir
fi

as_postgres() {
  if [ "$(id -un)" = "postgres" ]; then "$@";
  elif [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@";
  else sudo -u postgres -- "$@"; fi
}

dir="$(mktemp -d /tmp/swanlog-pg.XXXXXX)"
chmod 755 "$dir"
$SUDO chown postgres "$dir"
port="$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"

stop() {
  as_postgres "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  $SUDO rm -rf "$dir"
}
trap stop EXIT

as_postgres "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off: a throwaway cluster for tests; crash safety of the host is not what they check.
as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }

export SWANLOG_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $SWANLOG_TEST_DATABASE_URL"
set +e
"$@"
status=$?
set -e
exit "$status"
