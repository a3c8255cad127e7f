#!/usr/bin/env bash
# Makes sure a Postgres complyflow can use is running, and prints the two
# connection URLs as shell assignments (eval them, in bash):
#   DATABASE_URL        the application role (does not own the tables)
#   DATABASE_OWNER_URL  the owner role (runs migrations, creates test databases)
#   DATABASE_PORTAL_URL the portal's role for signed-in reads (owns nothing,
#                       subject to row-level security: schema/0017_accounts.sql)
# With DATABASE_URL set and reachable it is used as it is. Otherwise this
# machine's PostgreSQL cluster is started and the roles and database are made,
# idempotently. Needs root (or the postgres user) for that part.
#
# The owner role gets only what migrations and tests need (LOGIN CREATEDB, and
# pg_signal_backend so tests can drop their databases WITH (FORCE)); never
# CREATEROLE or SUPERUSER. Each role's password is generated once, kept in
# /etc/postgresql/VERSION/NAME/complyflow/ROLE (mode 0600, owned by postgres)
# and never reset: beside the cluster rather than in a checkout, because every
# checkout on the machine shares the cluster's roles (one per checkout would
# reset the others'). pg_dropcluster leaves it: a cluster re-created under the
# same name gets its roles made with the kept passwords. A cluster
# whose roles were made by an older version of this script (fixed passwords,
# CREATEROLE) is converged: CREATEROLE is taken away, and a role with no kept
# password yet gets a generated one, once.
#
# Settings (environment):
#   COMPLYFLOW_PG_CLUSTER   VERSION/NAME of the cluster to use, e.g. 15/cfhelper;
#                           created (on a free port) if absent. Default: the
#                           first cluster pg_lsclusters lists (15/main if none).
#   COMPLYFLOW_PG_PASSWORD_DIR  where the passwords are kept instead (tests).
#   COMPLYFLOW_PG_NO_FALLBACK=1  fail when DATABASE_URL is set but unreachable,
#                           instead of using this machine's cluster.
set -euo pipefail

# Only the assignments go to stdout (fd 3): anything else a tool prints — such
# as pg_ctlcluster's "Removed stale pid file." — would be eval'd by the caller.
exec 3>&1 1>&2
# Each value is quoted for bash with %q, so the caller's eval assigns it and
# runs nothing, whatever the value holds (quotes, $(...), backticks, newlines).
emit() { printf 'export %s=%q\n' "$1" "$2" >&3; }

log() { echo "postgres: $*" >&2; }
die() { echo "postgres: $*" >&2; exit 1; }

if [ -n "${DATABASE_URL:-}" ]; then
  if psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    emit DATABASE_URL "$DATABASE_URL"
    emit DATABASE_URL_WAS_SET 1
    emit DATABASE_OWNER_URL "${DATABASE_OWNER_URL:-$DATABASE_URL}"
    [ -n "${DATABASE_PORTAL_URL:-}" ] && emit DATABASE_PORTAL_URL "$DATABASE_PORTAL_URL"
    exit 0
  fi
  if [ -n "${COMPLYFLOW_PG_NO_FALLBACK:-}" ]; then
    die "DATABASE_URL is set but not reachable (and COMPLYFLOW_PG_NO_FALLBACK is set)"
  fi
  log "DATABASE_URL is set but not reachable; falling back to this machine's PostgreSQL"
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing PostgreSQL (apt-get install postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  else
    die "no Postgres: set DATABASE_URL to a reachable database, or install PostgreSQL (apt-get install postgresql)"
  fi
fi

# From /, which the postgres user can enter whatever our working directory is.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then (cd / && "$@"); else (cd / && runuser -u postgres -- "$@"); fi
}

# "VERSION NAME PORT STATUS" of the cluster asked for, or of the first one.
find_cluster() {
  pg_lsclusters --no-header 2>/dev/null |
    awk -v v="${1:-}" -v n="${2:-}" '(v == "" || ($1 == v && $2 == n)) {print $1" "$2" "$3" "$4; exit}'
}

want_version="" want_name=""
if [ -n "${COMPLYFLOW_PG_CLUSTER:-}" ]; then
  [[ "$COMPLYFLOW_PG_CLUSTER" =~ ^([0-9]+)/([A-Za-z0-9_.-]+)$ ]] ||
    die "COMPLYFLOW_PG_CLUSTER=$COMPLYFLOW_PG_CLUSTER: want VERSION/NAME, such as 15/main"
  want_version=${BASH_REMATCH[1]} want_name=${BASH_REMATCH[2]}
fi
cluster=$(find_cluster "$want_version" "$want_name")
if [ -z "$cluster" ]; then
  create_version=${want_version:-15} create_name=${want_name:-main}
  log "creating cluster $create_version/$create_name"
  # Without -p, pg_createcluster takes the first free port from 5432 up.
  pg_createcluster "$create_version" "$create_name" >/dev/null 3>&-
  cluster=$(find_cluster "$create_version" "$create_name")
  [ -n "$cluster" ] || die "pg_createcluster $create_version $create_name made no cluster"
fi
read -r version name port status <<<"$cluster"
if [ "$status" != online ]; then
  log "starting cluster $version/$name on port $port"
  # 3>&- : the server must not inherit (and hold open) the caller's pipe.
  pg_ctlcluster "$version" "$name" start 3>&-
  emit COMPLYFLOW_PG_STARTED "$version/$name"
fi
ready=""
for _ in $(seq 1 50); do
  if as_postgres psql -p "$port" -Atqc 'SELECT 1' >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
[ -n "$ready" ] || die "cluster $version/$name does not answer on port $port (see /var/log/postgresql/postgresql-$version-$name.log)"

# The kept passwords. A new one is written to ROLE.new first and renamed to
# ROLE only once the role has it, so an interrupted run neither loses it nor
# leaves a file the role does not match.
pw_dir=${COMPLYFLOW_PG_PASSWORD_DIR:-/etc/postgresql/$version/$name/complyflow}
(umask 077 && mkdir -p "$pw_dir")
chmod 0700 "$pw_dir"
chmod 0600 "$pw_dir"/complyflow_* 2>/dev/null || true
# Readable by the postgres user too, who may run this script instead of root.
keep_owned() {
  if [ -z "${COMPLYFLOW_PG_PASSWORD_DIR:-}" ] && [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$pw_dir"; fi
}
keep_owned

# Passwords are hex or at least URL-safe, so they go into the URLs as they are.
valid_password() { [[ "$1" =~ ^[A-Za-z0-9._~-]{16,}$ ]]; }

# kept_password ROLE: sets PW to the role's kept password, making a pending
# one (ROLE.new) if none is kept yet.
kept_password() {
  local file="$pw_dir/$1"
  if [ -f "$file" ]; then
    PW=$(<"$file")
  else
    if [ ! -f "$file.new" ]; then
      (umask 077 && head -c 24 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$file.new")
    fi
    PW=$(<"$file.new")
  fi
  valid_password "$PW" || die "$file: not a usable password (16 or more of A-Z a-z 0-9 . _ ~ -); fix it, or remove it to have a new one generated and set"
}
# A role is given its password only when none was kept yet (1 means set it).
kept_password complyflow_owner; owner_pw=$PW
kept_password complyflow_app; app_pw=$PW
kept_password complyflow_portal; portal_pw=$PW
[ -f "$pw_dir/complyflow_owner" ] && set_owner_pw=0 || set_owner_pw=1
[ -f "$pw_dir/complyflow_app" ] && set_app_pw=0 || set_app_pw=1
[ -f "$pw_dir/complyflow_portal" ] && set_portal_pw=0 || set_portal_pw=1

# The passwords reach psql on its standard input, as psql variables quoted with
# :'var' (never pasted into SQL, never on a command line other users can read).
as_postgres psql -p "$port" -X -v ON_ERROR_STOP=1 -q <<SQL >/dev/null
\\set owner_pw '$owner_pw'
\\set app_pw '$app_pw'
\\set set_owner_pw $set_owner_pw
\\set set_app_pw $set_app_pw
\\set portal_pw '$portal_pw'
\\set set_portal_pw $set_portal_pw
SET client_min_messages = warning;
SELECT format('CREATE ROLE complyflow_owner LOGIN PASSWORD %L', :'owner_pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_owner') \\gexec
SELECT format('CREATE ROLE complyflow_app LOGIN PASSWORD %L', :'app_pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_app') \\gexec
SELECT format('CREATE ROLE complyflow_portal LOGIN PASSWORD %L', :'portal_pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'complyflow_portal') \\gexec
-- Only what migrations and tests need: no CREATEROLE (in PostgreSQL 15 enough
-- to grant itself pg_execute_server_program and run commands as postgres).
ALTER ROLE complyflow_owner LOGIN CREATEDB NOCREATEROLE NOSUPERUSER NOREPLICATION NOBYPASSRLS;
ALTER ROLE complyflow_app LOGIN NOCREATEDB NOCREATEROLE NOSUPERUSER NOREPLICATION NOBYPASSRLS;
ALTER ROLE complyflow_portal LOGIN NOCREATEDB NOCREATEROLE NOSUPERUSER NOREPLICATION NOBYPASSRLS;
\\if :set_owner_pw
ALTER ROLE complyflow_owner PASSWORD :'owner_pw';
\\endif
\\if :set_app_pw
ALTER ROLE complyflow_app PASSWORD :'app_pw';
\\endif
\\if :set_portal_pw
ALTER ROLE complyflow_portal PASSWORD :'portal_pw';
\\endif
-- Lets tests drop their databases WITH (FORCE) while an application-role connection lingers.
GRANT pg_signal_backend TO complyflow_owner;
SELECT 'CREATE DATABASE complyflow OWNER complyflow_owner'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'complyflow') \\gexec
SQL
for role in complyflow_owner complyflow_app complyflow_portal; do
  if [ -f "$pw_dir/$role.new" ]; then
    mv -f "$pw_dir/$role.new" "$pw_dir/$role"
    log "$role: generated a password, kept in $pw_dir/$role"
  fi
done
keep_owned

# A kept password that no longer matches (the role's was changed by hand) is
# never reset here: say so, and how to have a new one set.
for role in complyflow_owner complyflow_app complyflow_portal; do
  pw=$owner_pw; [ "$role" = complyflow_app ] && pw=$app_pw; [ "$role" = complyflow_portal ] && pw=$portal_pw
  if ! PGPASSWORD=$pw PGCONNECT_TIMEOUT=5 psql -X -h 127.0.0.1 -p "$port" -U "$role" -d complyflow -Atqc 'SELECT 1' >/dev/null 2>&1; then
    die "$role cannot sign in on 127.0.0.1:$port with the password kept in $pw_dir/$role; remove that file to have a new one generated and set"
  fi
done

emit DATABASE_URL "postgres://complyflow_app:$app_pw@127.0.0.1:$port/complyflow?sslmode=disable"
emit DATABASE_OWNER_URL "postgres://complyflow_owner:$owner_pw@127.0.0.1:$port/complyflow?sslmode=disable"
emit DATABASE_PORTAL_URL "postgres://complyflow_portal:$portal_pw@127.0.0.1:$port/complyflow?sslmode=disable"
