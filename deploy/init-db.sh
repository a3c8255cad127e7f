#!/bin/sh
# Runs once, when the Postgres container's volume is new: the database for
# Temporal, and complyflow's application role, which owns no tables.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE complyflow_app LOGIN PASSWORD '${COMPLYFLOW_APP_PASSWORD}';
CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${TEMPORAL_DB_PASSWORD}';
SQL
