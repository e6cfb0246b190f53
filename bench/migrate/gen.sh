#!/usr/bin/env bash
# Deterministic benchmark sources for the migration data path: PostgreSQL database
# ferry_bench_src_<rows> (orders = BENCH_ROWS, customers = BENCH_ROWS/25, the peers' generator
# /work/shared/bench/peers/gen_dataset.sql, seed BENCH_SEED), plus a SQLite file and a MariaDB
# database with the same rows. Skips a source that already exists with the right row counts.
# Env: BENCH_ROWS (200000), BENCH_SEED (42), BENCH_WORK (/tmp/ferry-bench-migrate).
set -euo pipefail
PEERS="${PEERS_DIR:-$(cd "$(dirname "$0")/../../../shared/bench/peers" 2>/dev/null && pwd || echo /work/shared/bench/peers)}"
ROWS="${BENCH_ROWS:-200000}"
SEED="${BENCH_SEED:-42}"
CROWS=$(( ROWS / 25 > 0 ? ROWS / 25 : 1 ))
WORK="${BENCH_WORK:-/tmp/ferry-bench-migrate}"
DB="ferry_bench_src_${ROWS}"
SQLITE="$WORK/$DB.sqlite"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
mkdir -p "$WORK"
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

have=$(psql -X -At -d "$DB" -c "select (select count(*) from customers) || ' ' || (select count(*) from orders)" 2>/dev/null || true)
if [ "$have" != "$CROWS $ROWS" ]; then
  log "PostgreSQL $DB: $CROWS customers, $ROWS orders"
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  G="psql -X -q -d $DB -v seed=$SEED -v c_rows=$CROWS -f $PEERS/gen_dataset.sql"
  $G -v part=schema
  $G -v part=customers
  half=$(( ROWS / 2 ))
  $G -v part=orders -v o_lo=1 -v o_hi=$half & p1=$!
  $G -v part=orders -v o_lo=$((half + 1)) -v o_hi=$ROWS & p2=$!
  wait $p1; wait $p2
  $G -v part=finish
  rm -f "$SQLITE"
fi

if [ ! -s "$SQLITE" ]; then
  log "SQLite $SQLITE"
  SRC_DB=$DB sqlite3 "$SQLITE" ".read $PEERS/sqlite_schema.sql" \
    ".import --csv --schema temp '|$PEERS/export_csv_for_sqlite.sh customers' s_c" \
    ".import --csv --schema temp '|$PEERS/export_csv_for_sqlite.sh orders' s_o" \
    ".read $PEERS/sqlite_finish.sql" >/dev/null
fi

M="mariadb -h 127.0.0.1 -u root --local-infile=1"
myhave=$($M -N -e "select (select count(*) from $DB.customers), (select count(*) from $DB.orders)" 2>/dev/null | tr '\t' ' ' || true)
if [ "$myhave" != "$CROWS $ROWS" ]; then
  log "MariaDB $DB"
  sed "s/bench_src/$DB/g" "$PEERS/mysql_schema.sql" | $M
  F="$WORK/mysql"; mkdir -p "$F"
  psql -X -q -d "$DB" -c "\\copy (select id, name, email, country, created_at, is_active::int, credit_limit from customers order by id) to '$F/customers.tsv'"
  psql -X -q -d "$DB" -c "\\copy (select id, customer_id, amount, status, note, created_at, shipped_at, is_paid::int, discount, quantity from orders order by id) to '$F/orders.tsv'"
  $M "$DB" -e "SET foreign_key_checks=0, unique_checks=0; LOAD DATA LOCAL INFILE '$F/customers.tsv' INTO TABLE customers; LOAD DATA LOCAL INFILE '$F/orders.tsv' INTO TABLE orders;"
  rm -rf "$F"
fi
log "sources ready: $DB (PostgreSQL, MariaDB), $SQLITE"
