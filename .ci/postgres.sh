#!/usr/bin/env bash
# Start the distribution's PostgreSQL server for the store tests and print the DSN they use.
# Usage: eval "$(bash .ci/postgres.sh)"  (exports REPBOT_TEST_POSTGRES); prints nothing and
# exits 0 when PostgreSQL cannot be installed or started, so the PostgreSQL tests skip.
set -uo pipefail
log() { echo "postgres: $*" >&2; }
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || { log "not installed"; exit 0; }
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if command -v pg_lsclusters >/dev/null 2>&1 && ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null 2>&1 || { log "cannot create a cluster"; exit 0; }
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || service postgresql start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p 5432 || { log "server did not start"; exit 0; }
run_sql() { runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d postgres -c "$1" >/dev/null 2>&1; }
run_sql "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'repbot') THEN
  CREATE ROLE repbot LOGIN PASSWORD 'repbot-test' CREATEDB; END IF; END \$\$;" || { log "cannot create the role"; exit 0; }
runuser -u postgres -- psql -tAq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'repbot_test'" | grep -q 1 \
  || run_sql "CREATE DATABASE repbot_test OWNER repbot" || { log "cannot create the database"; exit 0; }
echo "export REPBOT_TEST_POSTGRES='postgresql://repbot:repbot-test@127.0.0.1:5432/repbot_test'"
