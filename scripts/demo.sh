#!/usr/bin/env bash
# Loads the demo data into a running system, doing only what is not there yet:
# the directory (people, systems, vendors), the demo program, the risk register, and one open task
# for the demo security officer.
set -euo pipefail
cd "$(dirname "$0")/.."

people=$(psql "$DATABASE_URL" -Atqc 'SELECT count(*) FROM people')
if [ "$people" = 0 ]; then
  for kind in people systems vendors; do bin/starter import "$kind" "demo/$kind.csv"; done
else
  echo "demo: directory already loaded ($people people)"
fi

bin/starter program apply --as p-security-officer demo/program.yaml

# The risk register names the program's controls, so it follows the apply.
risks=$(psql "$DATABASE_URL" -Atqc 'SELECT count(*) FROM risks')
if [ "$risks" = 0 ]; then
  bin/starter import risks demo/risks.csv
else
  echo "demo: risk register already loaded ($risks risks)"
fi

open_tasks=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM tasks WHERE status = 'open' AND assignee_id = 'p-security-officer'")
if [ "$open_tasks" = 0 ]; then
  # --existing-ok: with a database recreated under a Temporal server that
  # outlives it, the task is already there in Temporal; say so and go on.
  bin/starter tasks assign --existing-ok --to p-security-officer --due 72h --actions approve,reject --control information-security-program-review \
    --subject "Confirm the security committee for this year's policy review" \
    --body "Check that the review committee in the program file is current, then approve. Reject with a note naming who is missing."
else
  echo "demo: the security officer already has $open_tasks open task(s)"
fi

# One portal account per role, made once, each sign-in printed (demo only).
bin/starter users demo
