#!/bin/sh
# Runs once, when the Postgres container's volume is new (as the superuser,
# POSTGRES_USER): complyflow's owner role and database, its application role
# (which owns no tables), the portal's role for signed-in reads (owns
# nothing, subject to row-level security), and Temporal's role. Neither complyflow role may
# create roles; the owner does not even create databases.
#
# The passwords reach psql as psql variables and are quoted by it (:'var'), so
# a quote or backslash in one cannot change the SQL.
set -eu
: "${COMPLYFLOW_OWNER_PASSWORD:?}" "${COMPLYFLOW_APP_PASSWORD:?}" "${COMPLYFLOW_PORTAL_PASSWORD:?}" "${TEMPORAL_DB_PASSWORD:?}"
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$COMPLYFLOW_OWNER_PASSWORD" \
  -v app_pw="$COMPLYFLOW_APP_PASSWORD" \
  -v portal_pw="$COMPLYFLOW_PORTAL_PASSWORD" \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE complyflow_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE complyflow_app LOGIN PASSWORD :'app_pw';
CREATE ROLE complyflow_portal LOGIN PASSWORD :'portal_pw';
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE DATABASE complyflow OWNER complyflow_owner;
SQL
