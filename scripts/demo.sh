#!/usr/bin/env bash
# The demo behind `make demo`: stream the changes of a small shop database in the local
# MariaDB into a Kinesis stream (kinesalite), and read them back from the stream.
# Expects the stack up (scripts/devstack.sh up) and bin/strangler built; `make demo` does both.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
eval "$(scripts/devstack.sh env)"
BIN=${STRANGLER_BIN:-$ROOT/bin/strangler}
MYSQL_PORT=${STRANGLER_STACK_MYSQL_PORT:-3307}
KINESIS=${STRANGLER_TEST_KINESIS_ENDPOINT}
WORK=$ROOT/.devstack/demo
STREAM=shop-changes-$(date +%s)
METRICS=127.0.0.1:${STRANGLER_DEMO_METRICS_PORT:-9464}
mkdir -p "$WORK"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sql() { mariadb -uroot -h127.0.0.1 -P"$MYSQL_PORT" --default-character-set=utf8mb4 shop -e "$1"; }

say "1. A legacy database: shop.orders and shop.order_lines in MariaDB (127.0.0.1:$MYSQL_PORT)"
mariadb -uroot -h127.0.0.1 -P"$MYSQL_PORT" -e "DROP DATABASE IF EXISTS shop; CREATE DATABASE shop CHARACTER SET utf8mb4"
sql "CREATE TABLE orders (
       id BIGINT UNSIGNED PRIMARY KEY, customer VARCHAR(50) NOT NULL,
       status ENUM('new','paid','shipped') NOT NULL, total DECIMAL(10,2) NOT NULL,
       placed_at DATETIME(3) NOT NULL, meta JSON)
     ; CREATE TABLE order_lines (order_id BIGINT UNSIGNED, line INT, sku VARCHAR(20), qty INT, PRIMARY KEY (order_id, line))"

say "2. A Kinesis stream for the changes: $STREAM (kinesalite at $KINESIS)"
"$BIN" stream create "$STREAM" --shards 2 --kinesis-endpoint "$KINESIS"

say "3. The CDC daemon, in the background (log: $WORK/daemon.log, metrics: http://$METRICS/metrics)"
rm -f "$WORK/checkpoint.json"
"$BIN" cdc run --source "mysql://root@tcp(127.0.0.1:$MYSQL_PORT)/" --server-id 4242 --include 'shop.*' \
  --stream "$STREAM" --kinesis-endpoint "$KINESIS" --checkpoint "file:$WORK/checkpoint.json" \
  --metrics-addr "$METRICS" --start latest >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://$METRICS/readyz" >/dev/null 2>&1 && break
  kill -0 $DAEMON 2>/dev/null || { cat "$WORK/daemon.log"; echo "the daemon stopped" >&2; exit 1; }
  sleep 0.1
done
echo "streaming (pid $DAEMON)"

say "4. The monolith writes: inserts, an update, a transaction of two tables, a DDL, a delete"
sql "INSERT INTO orders VALUES (1, 'Ana', 'new', 19.90, '2024-02-29 13:14:15.123', '{\"channel\": \"web\"}')"
sql "INSERT INTO orders VALUES (18446744073709551615, 'Bruno', 'new', 5.10, NOW(3), NULL)"
sql "UPDATE orders SET status = 'paid' WHERE id = 1"
sql "START TRANSACTION;
     INSERT INTO order_lines VALUES (1, 1, 'KAYAK-2P', 1), (1, 2, 'PADDLE', 2);
     UPDATE orders SET total = 129.90 WHERE id = 1;
     COMMIT"
sql "ALTER TABLE orders ADD COLUMN coupon VARCHAR(20) NULL AFTER total"
sql "INSERT INTO orders (id, customer, status, total, coupon, placed_at) VALUES (2, 'Chloé', 'new', 42.00, 'SPRING', NOW(3))"
sql "DELETE FROM orders WHERE id = 18446744073709551615"
echo "8 row changes made"

say "5. The events, read back from Kinesis (strangler stream tail; data is the event)"
"$BIN" stream tail "$STREAM" --kinesis-endpoint "$KINESIS" --limit 8 --follow --poll-interval 200ms >"$WORK/events.jsonl" &
TAIL=$!
( sleep 30; kill $TAIL 2>/dev/null ) &
wait $TAIL || true
# The event is the record's data, printed as it arrived (jq 1.6 would round the BIGINT
# UNSIGNED id to a double: the event carries it exactly).
sed -E 's/^\{"shard":"shardId-0*([0-9]+)".*"data":(.*)\}$/shard \1  \2/' "$WORK/events.jsonl"
got=$(wc -l <"$WORK/events.jsonl")
echo "$got events (one shard's events are in commit order; a row's changes always share a shard)"

say "6. Where the daemon stands (strangler cdc status)"
"$BIN" cdc status --source "mysql://root@tcp(127.0.0.1:$MYSQL_PORT)/" --checkpoint "file:$WORK/checkpoint.json"
curl -fs "http://$METRICS/metrics" | grep -E '^strangler_cdc_(events_total|sink_records_total)' || true

say "7. A clean stop: SIGTERM delivers what was read, saves the checkpoint, exits 0"
kill -TERM $DAEMON
set +e
wait $DAEMON
code=$?
set -e
trap - EXIT
echo "daemon exit code: $code"
[ "$got" -ge 8 ] && [ "$code" -eq 0 ] || { echo "demo failed: $got events, exit $code; see $WORK/daemon.log" >&2; exit 1; }
echo "demo done: the stream is $STREAM; try: bin/strangler stream tail $STREAM --kinesis-endpoint $KINESIS | jq .data"
