#!/usr/bin/env bash
# Tests for scripts/postgres.sh, run by `make test` before the Go tests.
# It never reaches a real PostgreSQL: postgres.sh runs with a PATH holding only
# stubs of psql, runuser and the pg_* cluster tools, plus the few basic tools
# it needs, so a command it should not run fails instead of touching a cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
script=$PWD/scripts/postgres.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/bin
mkdir -p "$bin"
for tool in env bash awk cat chmod dirname head id mkdir mv od rm seq sleep tr; do
  ln -s "$(command -v "$tool")" "$bin/$tool"
done
# psql: records its arguments and standard input; STUB_PSQL_RC is its exit status.
cat >"$bin/psql" <<'STUB'
#!/usr/bin/env bash
{ echo "psql $*"; [ -t 0 ] || cat; } >>"$STUB_LOG"
exit "${STUB_PSQL_RC:-0}"
STUB
# runuser -u postgres -- CMD...: runs CMD.
cat >"$bin/runuser" <<'STUB'
#!/usr/bin/env bash
while [ "$1" != -- ]; do shift; done; shift; exec "$@"
STUB
# pg_lsclusters: the clusters in $STUB_CLUSTERS ("VERSION NAME PORT STATUS" lines).
cat >"$bin/pg_lsclusters" <<'STUB'
#!/usr/bin/env bash
awk '{print $1, $2, $3, $4, "postgres", "/nonexistent", "/nonexistent.log"}' "$STUB_CLUSTERS"
STUB
for tool in pg_ctlcluster pg_createcluster; do
  printf '#!/usr/bin/env bash\necho "%s $*" >>"$STUB_LOG"\n' "$tool" >"$bin/$tool"
done
chmod +x "$bin"/*

export STUB_LOG=$tmp/log STUB_CLUSTERS=$tmp/clusters COMPLYFLOW_PG_PASSWORD_DIR=$tmp/passwords
unset DATABASE_URL DATABASE_OWNER_URL COMPLYFLOW_PG_CLUSTER COMPLYFLOW_PG_NO_FALLBACK
: >"$STUB_LOG"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# run VAR=VALUE...: postgres.sh with the stub PATH; its stdout in $out, status in $rc.
run() { rc=0; out=$(env -i PATH="$bin" HOME="$tmp" STUB_LOG="$STUB_LOG" STUB_CLUSTERS="$STUB_CLUSTERS" COMPLYFLOW_PG_PASSWORD_DIR="$COMPLYFLOW_PG_PASSWORD_DIR" "$@" bash "$script" 2>"$tmp/stderr" </dev/null) || rc=$?; }

# 1. A reachable DATABASE_URL is printed so that eval assigns it exactly and runs nothing.
marker=$tmp/pwned
for url in \
  "postgres://u:p@db/x?application_name='\$(touch $marker)'" \
  "postgres://u:p@db/x?a=\`touch $marker\`&b=\"\$(touch $marker)\"" \
  "postgres://u:p@db/x?a=';touch $marker;'
touch $marker"; do
  run DATABASE_URL="$url" STUB_PSQL_RC=0
  [ "$rc" = 0 ] || fail "reachable DATABASE_URL: exit $rc: $(cat "$tmp/stderr")"
  got=$(DATABASE_URL="" DATABASE_OWNER_URL="" DATABASE_URL_WAS_SET="" bash -c 'eval "$1"; printf "%s\n%s\n%s" "$DATABASE_URL" "$DATABASE_OWNER_URL" "$DATABASE_URL_WAS_SET"' _ "$out")
  want=$(printf '%s\n%s\n%s' "$url" "$url" 1)
  [ "$got" = "$want" ] || fail "eval of postgres.sh's output gave
$got
want
$want"
  [ ! -e "$marker" ] || { fail "eval of postgres.sh's output ran a command (DATABASE_URL=$url)"; rm -f "$marker"; }
done

# 2. Unreachable, with COMPLYFLOW_PG_NO_FALLBACK: an error, nothing to eval, no cluster tool run.
: >"$STUB_LOG"
run DATABASE_URL="postgres://u:p@db/x?a='\$(touch $marker)'" STUB_PSQL_RC=2 COMPLYFLOW_PG_NO_FALLBACK=1
[ "$rc" != 0 ] || fail "unreachable DATABASE_URL with COMPLYFLOW_PG_NO_FALLBACK: exit 0"
[ -z "$out" ] || fail "unreachable DATABASE_URL printed: $out"
! grep -q '^pg_' "$STUB_LOG" || fail "unreachable DATABASE_URL with COMPLYFLOW_PG_NO_FALLBACK ran: $(grep '^pg_' "$STUB_LOG")"
[ ! -e "$marker" ] || fail "unreachable DATABASE_URL ran a command"

# 3. This machine's cluster (stubbed): the cluster asked for is started; the
# owner loses CREATEROLE; passwords are generated once, kept 0600, set once.
printf '15 main 5432 online\n15 other 5433 down\n' >"$STUB_CLUSTERS"
: >"$STUB_LOG"
run COMPLYFLOW_PG_CLUSTER=15/other
[ "$rc" = 0 ] || fail "COMPLYFLOW_PG_CLUSTER=15/other: exit $rc: $(cat "$tmp/stderr")"
grep -qx 'pg_ctlcluster 15 other start' "$STUB_LOG" || fail "15/other was not started: $(cat "$STUB_LOG")"
grep -q -- '-p 5432' "$STUB_LOG" && fail "15/main's port was used although 15/other was asked for"
pw_dir=$COMPLYFLOW_PG_PASSWORD_DIR
for role in complyflow_owner complyflow_app; do
  [ -f "$pw_dir/$role" ] || { fail "no kept password for $role"; continue; }
  mode=$(cd "$pw_dir" && ls -l "$role" | awk '{print $1}')
  [ "$mode" = "-rw-------" ] || fail "$pw_dir/$role has mode $mode, want -rw-------"
done
[ ! -e "$pw_dir/complyflow_owner.new" ] || fail "a pending password was left behind"
owner_pw=$(cat "$pw_dir/complyflow_owner" 2>/dev/null || true) app_pw=$(cat "$pw_dir/complyflow_app" 2>/dev/null || true)
[ "$owner_pw" != "$app_pw" ] || fail "the two roles were given the same password"
eval "$out"
[ "$DATABASE_OWNER_URL" = "postgres://complyflow_owner:$owner_pw@127.0.0.1:5433/complyflow?sslmode=disable" ] || fail "owner URL $DATABASE_OWNER_URL"
[ "$DATABASE_URL" = "postgres://complyflow_app:$app_pw@127.0.0.1:5433/complyflow?sslmode=disable" ] || fail "app URL $DATABASE_URL"
portal_pw=$(cat "$pw_dir/complyflow_portal" 2>/dev/null || true)
[ -n "$portal_pw" ] && [ "$portal_pw" != "$app_pw" ] || fail "the portal role has no password of its own"
[ "$DATABASE_PORTAL_URL" = "postgres://complyflow_portal:$portal_pw@127.0.0.1:5433/complyflow?sslmode=disable" ] || fail "portal URL $DATABASE_PORTAL_URL"
grep -q 'ALTER ROLE complyflow_portal LOGIN NOCREATEDB NOCREATEROLE NOSUPERUSER NOREPLICATION NOBYPASSRLS' "$STUB_LOG" || fail "the portal role may bypass row-level security"
[ "${COMPLYFLOW_PG_STARTED:-}" = 15/other ] || fail "COMPLYFLOW_PG_STARTED=${COMPLYFLOW_PG_STARTED:-}, want 15/other"
grep -q 'ALTER ROLE complyflow_owner LOGIN CREATEDB NOCREATEROLE' "$STUB_LOG" || fail "the owner role is not converged to NOCREATEROLE"
grep -v -- '^--' "$STUB_LOG" | grep -Eq '(^|[^O])CREATEROLE' && fail "something still grants CREATEROLE: $(grep -E '(^|[^O])CREATEROLE' "$STUB_LOG")"
grep -q 'GRANT pg_signal_backend TO complyflow_owner' "$STUB_LOG" || fail "pg_signal_backend is no longer granted"
grep -qx '\\set set_owner_pw 1' "$STUB_LOG" || fail "first run: the owner's new password is not set"
grep -qx "ALTER ROLE complyflow_owner PASSWORD :'owner_pw';" "$STUB_LOG" || fail "the password is not passed as a psql variable"
grep -q "PASSWORD '" "$STUB_LOG" && fail "a password is pasted into SQL"
grep -q "^psql .*$owner_pw" "$STUB_LOG" && fail "a password is on psql's command line"

# Run again: the same passwords, and none set again.
: >"$STUB_LOG"
printf '15 main 5432 online\n15 other 5433 online\n' >"$STUB_CLUSTERS"
run COMPLYFLOW_PG_CLUSTER=15/other
[ "$rc" = 0 ] || fail "second run: exit $rc: $(cat "$tmp/stderr")"
[ "$(cat "$pw_dir/complyflow_owner")" = "$owner_pw" ] || fail "second run changed the kept owner password"
grep -qx '\\set set_owner_pw 0' "$STUB_LOG" || fail "second run sets the owner's password again"
grep -qx '\\set set_app_pw 0' "$STUB_LOG" || fail "second run sets the app's password again"
grep -q '^pg_ctlcluster' "$STUB_LOG" && fail "second run started an online cluster"
[[ "$out" == *"$owner_pw"* && "$out" != *COMPLYFLOW_PG_STARTED* ]] || fail "second run printed $out"

# The default is the first cluster listed; an absent one asked for is created.
: >"$STUB_LOG"
run
grep -q -- '-p 5432' "$STUB_LOG" || fail "without COMPLYFLOW_PG_CLUSTER the first cluster (15/main) is not used"
: >"$STUB_LOG"
run COMPLYFLOW_PG_CLUSTER=15/absent
grep -qx 'pg_createcluster 15 absent' "$STUB_LOG" || fail "an absent COMPLYFLOW_PG_CLUSTER is not created: $(cat "$STUB_LOG")"

if [ "$failures" -ne 0 ]; then
  echo "postgres_test: $failures failed" >&2
  exit 1
fi
echo "postgres_test: ok"
