#!/usr/bin/env bash
# A throwaway PostgreSQL for the test suite on machines that have none running.
# Uses Debian's postgresql binaries (apt-get install postgresql), runs as a non-root user,
# listens on 127.0.0.1:54329 with trust auth, keeps its data under /tmp/kehu-pg.
set -euo pipefail
dir=/tmp/kehu-pg
port=54329
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "No PostgreSQL binaries found: sudo apt-get install postgresql" >&2
  exit 1
fi
run() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody "$dir"
    [ -f "$dir/data/PG_VERSION" ] || run "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
    run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -w start >/dev/null
    run "$bindir/createdb" -h 127.0.0.1 -p $port -U postgres test 2>/dev/null || true
    echo "export KEHU_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$port/test"
    ;;
  stop)
    run "$bindir/pg_ctl" -D "$dir/data" -m fast stop
    ;;
esac
