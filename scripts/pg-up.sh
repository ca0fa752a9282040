#!/usr/bin/env bash
# pg-up.sh - start a throwaway PostgreSQL cluster (from shared/notes/scripts) on 127.0.0.1:$PGPORT, idempotently.
#
# Data dir, socket and log live under $PG_CI_DIR (default /tmp/pg-ci); nothing in
# /etc/postgresql is touched (no pg_createcluster).  initdb refuses to run as
# root, so the server runs as the `postgres` OS user created by the Debian package.
#
# Usage:  bash pg-up.sh          -> prints DATABASE_URL=postgres://bench:bench@127.0.0.1:55432/bench
#         bash pg-down.sh        (stops it; --purge deletes the data dir)
set -euo pipefail
D=${PG_CI_DIR:-/tmp/pg-ci}
PORT=${PGPORT:-55432}
DB=${PG_CI_DB:-bench}
USER_=${PG_CI_USER:-bench}
PASS=${PG_CI_PASS:-bench}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$D"
chown postgres:postgres "$D"
if [[ ! -f $D/data/PG_VERSION ]]; then
  # trust on the unix socket, scram on TCP loopback
  as_pg "$BIN/initdb" -D "$D/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --no-instructions >"$D/initdb.log"
  cat >>"$D/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$D'
fsync = off                 # test cluster: speed over durability
synchronous_commit = off
full_page_writes = off
CONF
fi
if ! as_pg "$BIN/pg_ctl" -D "$D/data" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 60 start >/dev/null
fi
psql_() { as_pg psql -h "$D" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_ -c "select 1 from pg_roles where rolname='$USER_'" | grep -q 1 || \
  psql_ -c "create role $USER_ login password '$PASS'"
psql_ -c "select 1 from pg_database where datname='$DB'" | grep -q 1 || \
  psql_ -c "create database $DB owner $USER_"
echo "DATABASE_URL=postgres://$USER_:$PASS@127.0.0.1:$PORT/$DB"
echo "postgres ready"
