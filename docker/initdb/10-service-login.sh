#!/bin/sh
# Run once by the postgres image when it creates the cluster: the service's restricted role, and a
# login for the service that holds only that role. `evoucher migrate` (as the owner) then grants
# the role what the service needs; `evoucher serve` logs in as evoucher_app and can do nothing
# more than evoucher_service may.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="${EVOUCHER_APP_PASSWORD:?set EVOUCHER_APP_PASSWORD}" <<'SQL'
CREATE ROLE evoucher_service NOLOGIN;
CREATE ROLE evoucher_app LOGIN PASSWORD :'app_password' IN ROLE evoucher_service;
SQL
