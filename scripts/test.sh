#!/usr/bin/env bash
# `make test` (and `make bench` with the argument "bench"): starts what the
# tests need — this machine's Postgres and the pinned Temporal CLI — then runs
# go vet, the gofmt check, and every test, integration tests included.
set -euo pipefail
cd "$(dirname "$0")/.."

# The set-up scripts' own tests first: fast, and they touch no cluster.
scripts/postgres_test.sh
# postgres.sh quotes every value it prints (printf %q): eval assigns, runs nothing.
pg_env=$(scripts/postgres.sh)
eval "$pg_env"
make -s tools
# The portal's browser test drives Debian's chromium (portal/browser_test.go).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing chromium (apt-get install chromium)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: no chromium for the portal's browser test: apt-get install chromium" >&2
    exit 1
  fi
fi
# The XLSX export's test opens the workbook in a second reader (openpyxl).
if ! python3 -c 'import openpyxl' 2>/dev/null && ! /usr/bin/python3 -c 'import openpyxl' 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing python3-openpyxl (apt-get install python3-openpyxl)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-openpyxl >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-openpyxl >/dev/null; }
fi

if [ "${1:-}" = bench ]; then
  exec go test -run '^$' -bench . -benchmem -timeout 30m ./...
fi

make -s vet
# Packages run two at a time: each test binary with Temporal tests starts its
# own dev server, and the machine has two cores.
go test -count=1 -p 2 -timeout 30m ./...
