#!/usr/bin/env bash
# Makes sure a Postgres complyflow can use is running, and prints the two
# connection URLs as shell assignments (eval them):
#   DATABASE_URL        the application role (does not own the tables)
#   DATABASE_OWNER_URL  the owner role (runs migrations, creates test databases)
# With DATABASE_URL set and reachable it is used as it is. Otherwise this
# machine's PostgreSQL cluster is started and the roles and database are made,
# idempotently. Needs root (or the postgres user) for that part.
set -euo pipefail

# Only the assignments go to stdout (fd 3): anything else a tool prints — such
# as pg_ctlcluster's "Removed stale pid file." — would be eval'd by the caller.
exec 3>&1 1>&2
emit() { echo "$*" >&3; }

log() { echo "postgres: $*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  if psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    emit "export DATABASE_URL='$DATABASE_URL' DATABASE_URL_WAS_SET=1"
    emit "export DATABASE_OWNER_URL='${DATABASE_OWNER_URL:-$DATABASE_URL}'"
    exit 0
  fi
  log "DATABASE_URL is set but not reachable; falling back to this machine's PostgreSQL"
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing PostgreSQL (apt-get install postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  else
    echo "complyflow: no Postgres: set DATABASE_URL to a reachable database, or install PostgreSQL (apt-get install postgresql)" >&2
    exit 1
  fi
fi

# From /, which the postgres user can enter whatever our working directory is.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then (cd / && "$@"); else (cd / && runuser -u postgres -- "$@"); fi
}

cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2" "$3" "$4}')
if [ -z "$cluster" ]; then
  log "creating cluster 15 main"
  pg_createcluster 15 main >/dev/null 3>&-
  cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2" "$3" "$4}')
fi
read -r version name port status <<<"$cluster"
if [ "$status" != online ]; then
  log "starting cluster $version/$name on port $port"
  # 3>&- : the server must not inherit (and hold open) the caller's pipe.
  pg_ctlcluster "$version" "$name" start 3>&-
fi
for _ in $(seq 1 50); do
  as_postgres psql -p "$port" -Atqc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.2
done

as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -q <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT 'CREATE ROLE complyflow_owner LOGIN CREATEDB CREATEROLE PASSWORD ''complyflow_owner'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_owner') \gexec
SELECT 'CREATE ROLE complyflow_app LOGIN PASSWORD ''complyflow_app'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_app') \gexec
ALTER ROLE complyflow_app LOGIN PASSWORD 'complyflow_app';
-- Lets tests drop their databases WITH (FORCE) while an application-role connection lingers.
GRANT pg_signal_backend TO complyflow_owner;
SELECT 'CREATE DATABASE complyflow OWNER complyflow_owner'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'complyflow') \gexec
SQL

emit "export DATABASE_URL='postgres://complyflow_app:complyflow_app@127.0.0.1:$port/complyflow?sslmode=disable'"
emit "export DATABASE_OWNER_URL='postgres://complyflow_owner:complyflow_owner@127.0.0.1:$port/complyflow?sslmode=disable'"
