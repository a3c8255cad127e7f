#!/usr/bin/env bash
# `make run`: the whole system on this machine, in the foreground.
# Temporal dev server (SQLite under .data/), Postgres, migrations, demo data,
# the dev SMTP sink (unless SMTP_ADDR is set), the worker and the portal.
# Ctrl-C stops everything this script started, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data

[ -f .env ] && set -a && . ./.env && set +a

started=()          # PIDs this script started, stopped in reverse on exit
stop_cluster=""     # "15 main" when postgres.sh started the PostgreSQL cluster

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping"
  for ((i=${#started[@]}-1; i>=0; i--)); do
    kill "${started[i]}" 2>/dev/null || true
  done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$stop_cluster" ]; then pg_ctlcluster $stop_cluster stop || true; fi
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
export TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
export PORTAL_ADDR="${PORTAL_ADDR:-127.0.0.1:8080}"
export PORTAL_BASE_URL="${PORTAL_BASE_URL:-http://$PORTAL_ADDR}"

# Postgres first: it decides whether there is anything to run against.
# postgres.sh quotes every value it prints (printf %q): eval assigns, runs nothing.
unset COMPLYFLOW_PG_STARTED
pg_env=$(scripts/postgres.sh)
eval "$pg_env"
if [ -n "${COMPLYFLOW_PG_STARTED:-}" ]; then
  stop_cluster=${COMPLYFLOW_PG_STARTED/\// }
fi

make -s tools build

# Temporal: reuse a server already answering at TEMPORAL_ADDRESS, else start the dev server.
temporal_ready() { bin/temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; }
if temporal_ready; then
  echo "run: using the Temporal server at $TEMPORAL_ADDRESS"
  temporal_ui="(the UI of your Temporal server)"
else
  host=${TEMPORAL_ADDRESS%:*} port=${TEMPORAL_ADDRESS##*:}
  bin/temporal server start-dev --ip "$host" --port "$port" --ui-port 8233 \
    --db-filename .data/temporal.db --namespace "$TEMPORAL_NAMESPACE" --log-level warn \
    >.data/temporal.log 2>&1 &
  started+=($!)
  for _ in $(seq 1 150); do temporal_ready && break; sleep 0.2; done
  temporal_ready || { echo "run: the Temporal dev server did not start; see .data/temporal.log" >&2; exit 1; }
  temporal_ui="http://$host:8233/namespaces/$TEMPORAL_NAMESPACE/workflows"
fi

bin/starter migrate

if [ -z "${SMTP_ADDR:-}" ]; then
  mailview="$PORTAL_BASE_URL/dev/mail"
else
  mailview="(mail goes to $SMTP_ADDR)"
fi

# Unset means the default; set but empty turns metrics off (.env.example).
export METRICS_ADDR="${METRICS_ADDR-127.0.0.1:9464}"
if [ -n "$METRICS_ADDR" ]; then metrics="http://$METRICS_ADDR/metrics"; else metrics="(off: METRICS_ADDR is empty)"; fi
bin/worker &
started+=($!)
bin/portal &
started+=($!)
for _ in $(seq 1 100); do curl -fsS "$PORTAL_BASE_URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$PORTAL_BASE_URL/healthz" >/dev/null || { echo "run: the portal did not become healthy" >&2; exit 1; }

scripts/demo.sh

cat <<MSG

complyflow is ready.
  Portal:       $PORTAL_BASE_URL   (health: $PORTAL_BASE_URL/healthz)
  Temporal UI:  $temporal_ui
  Dev mail:     $mailview
  Metrics:      $metrics
  CLI:          bin/starter -h     (e.g. bin/starter tasks)
Ctrl-C stops everything started here.
MSG

status=0
wait -n "${started[@]}" || status=$?
# Ctrl-C ends the children too, cleanly (0) or by the signal (>128): only a
# failure of their own is worth a word before everything stops.
if [ "$status" -ne 0 ] && [ "$status" -lt 128 ]; then
  echo "run: a process failed (exit $status); stopping the rest (see its messages above)" >&2
fi
