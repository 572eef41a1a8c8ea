#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the case-store tests and print its URL on stdout.
#
#   export APPROVALFLOW_TEST_POSTGRES="$(bash scripts/ci_postgres.sh)"
#
# Installs Debian's `postgresql` package when no server binaries are present, creates a cluster in
# $APPROVALFLOW_PG_DIR (default /tmp/approvalflow-pg) listening on 127.0.0.1:$APPROVALFLOW_PG_PORT (default 54329)
# with trust authentication for loopback only, and a database `approvalflow_test`. Running it again reuses a
# running server. Everything but the URL goes to stderr. Stop it with: pg_ctl -D "$APPROVALFLOW_PG_DIR" stop
set -euo pipefail

DIR="${APPROVALFLOW_PG_DIR:-/tmp/approvalflow-pg}"
PORT="${APPROVALFLOW_PG_PORT:-54329}"
DB="approvalflow_test"

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  echo "installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

# PostgreSQL refuses to run as root: run it as the `postgres` user the package creates.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ ! -s "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
  as_pg "$BIN/initdb" -D "$DIR" -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >&2
fi
if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$DIR" -w -l "$DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off" start >&2
fi
if ! as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
    | grep -q 1; then
  as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB" >&2
fi
echo "postgresql://postgres@127.0.0.1:$PORT/$DB"
