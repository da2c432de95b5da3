#!/usr/bin/env bash
# Parity demo: a legacy MariaDB schema and the new services' PostgreSQL schema, compared
# three times (with a fix in between), plus a shadow proxy in front of two small HTTP
# services; then the report. Needs the local stack (scripts/devstack.sh up) and python3.
#
#   examples/compare/demo.sh [OUTDIR]      writes OUTDIR/parity.{html,md,json}
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/.devstack/compare-demo}
mkdir -p "$OUT"
eval "$("$ROOT/scripts/devstack.sh" env)"
BIN=${STRANGLER_BIN:-$ROOT/bin/strangler}
[ -x "$BIN" ] || (cd "$ROOT" && go build -o "$BIN" ./cmd/strangler)
MY="mariadb -uroot -h127.0.0.1 -P3307 --default-character-set=utf8mb4"
PSQL="psql -q -h 127.0.0.1 -p 5433 -U postgres"

$MY -e "DROP DATABASE IF EXISTS parity_legacy; CREATE DATABASE parity_legacy; DROP DATABASE IF EXISTS parity_store; CREATE DATABASE parity_store"
$PSQL -d postgres -c "DROP DATABASE IF EXISTS parity_new" -c "CREATE DATABASE parity_new"
$MY parity_legacy <<'SQL'
CREATE TABLE products (sku VARCHAR(20) NOT NULL PRIMARY KEY, title VARCHAR(100) NOT NULL, price DECIMAL(10,2) NOT NULL);
INSERT INTO products SELECT CONCAT('SKU-', LPAD(seq, 5, '0')), CONCAT('Product ', seq), seq % 97 + 0.99 FROM seq_1_to_2000;
CREATE TABLE legacy_orders (id INT NOT NULL PRIMARY KEY, total_cents BIGINT NOT NULL, status ENUM('new','paid','shipped') NOT NULL,
  email VARCHAR(100) NOT NULL, placed DATETIME NOT NULL, first_name VARCHAR(20) NOT NULL, last_name VARCHAR(20) NOT NULL, deleted TINYINT NOT NULL);
INSERT INTO legacy_orders SELECT seq, seq * 137, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), CONCAT(' Buyer', seq, '@Example.com'),
  '2024-01-01 09:00:00' + INTERVAL seq MINUTE, 'Ada', CONCAT('Lovelace', seq), seq % 500 = 0 FROM seq_1_to_20000;
CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, name VARCHAR(60) NOT NULL, vip TINYINT(1) NOT NULL, since DATE NOT NULL);
INSERT INTO customers SELECT seq, CONCAT('Customer ', seq), seq % 10 = 0, '2020-01-01' + INTERVAL seq DAY FROM seq_1_to_3000;
SQL
$PSQL -d parity_new <<'SQL'
CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT NOT NULL, price NUMERIC(12,4) NOT NULL);
CREATE TABLE orders (order_id BIGINT PRIMARY KEY, total NUMERIC(14,2) NOT NULL, status_code CHAR(1) NOT NULL, email TEXT NOT NULL,
  placed_at TIMESTAMPTZ NOT NULL, customer_name TEXT NOT NULL, created_by TEXT);
CREATE TABLE clients (client_id BIGINT PRIMARY KEY, name TEXT NOT NULL, vip BOOLEAN NOT NULL, since DATE NOT NULL);
SQL
# Copy the legacy rows into the new schema (what the new services' backfill would do).
$MY -N -B parity_legacy -e "SELECT sku, title, price FROM products" | $PSQL -d parity_new -c "\copy products FROM STDIN"
$MY -N -B parity_legacy -e "SELECT id, total_cents / 100, ELT(FIELD(status, 'new', 'paid', 'shipped'), 'N', 'P', 'S'), LOWER(TRIM(email)),
  CONCAT(DATE_FORMAT(placed - INTERVAL 1 HOUR, '%Y-%m-%d %H:%i:%s'), '+00'), CONCAT(first_name, ' ', last_name), 'backfill'
  FROM legacy_orders WHERE deleted = 0" | $PSQL -d parity_new -c "\copy orders FROM STDIN"
$MY -N -B parity_legacy -e "SELECT id, name, IF(vip, 't', 'f'), since FROM customers" | $PSQL -d parity_new -c "\copy clients FROM STDIN"
# Bugs of the new service: a rounding error, a lost order, a duplicated one, a VIP flag.
$PSQL -d parity_new -c "UPDATE orders SET total = total + 0.01 WHERE order_id IN (1234, 8765)" \
  -c "DELETE FROM orders WHERE order_id = 4242" -c "INSERT INTO orders SELECT 99999, total, status_code, email, placed_at, customer_name, 'svc' FROM orders WHERE order_id = 1" \
  -c "UPDATE clients SET vip = NOT vip WHERE client_id = 77"

SRC='mysql://root@tcp(127.0.0.1:3307)/parity_legacy'
TGT="postgres://postgres@127.0.0.1:5433/parity_new?sslmode=disable"
STORE='mysql://root@tcp(127.0.0.1:3307)/parity_store'
cmp() { "$BIN" compare data --source "$SRC" --target "$TGT" --config "$ROOT/examples/compare/mapping.yaml" --store "$STORE" --progress never "$@" || true; }
cmp --name "nightly 1"
$PSQL -d parity_new -c "UPDATE clients SET vip = NOT vip WHERE client_id = 77"     # customers fixed
cmp --name "nightly 2"
cmp --name "nightly 3" --report-html "$OUT/run3.html"

# Shadow: two small HTTP services, the candidate with a bug on one order and noise fields.
PORTS=$(python3 - <<'PY'
import socket
s=[socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1",0))
print(" ".join(str(x.getsockname()[1]) for x in s))
for x in s: x.close()
PY
)
read -r LP CP PP <<<"$PORTS"
cat >"$OUT/svc.py" <<'PY'
import json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, candidate = int(sys.argv[1]), sys.argv[2] == "candidate"
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "orders" and len(parts) == 2:
            oid = int(parts[1])
            total = round(oid * 1.37, 2)
            if candidate and oid % 10 == 3: total += 0.01
            body = {"id": oid, "total": total, "currency": "EUR", "generated_at": time.time(), "trace": str(uuid.uuid4()),
                    "lines": [{"sku": "SKU-1", "qty": 1 + oid % 3}]}
            if candidate and oid % 25 == 0: body["lines"][0]["qty"] += 1
        elif parts[0] == "products":
            body = {"items": [{"sku": "SKU-%05d" % i, "price": 1.99} for i in range(1, 4)], "served_by": "candidate" if candidate else "legacy"}
        else:
            self.send_response(404); self.end_headers(); return
        b = json.dumps(body).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$OUT/svc.py" "$LP" legacy & LPID=$!
python3 "$OUT/svc.py" "$CP" candidate & CPID=$!
"$BIN" compare shadow --listen "127.0.0.1:$PP" --legacy "http://127.0.0.1:$LP" --candidate "http://127.0.0.1:$CP" \
  --ignore '$.served_by' --store "$STORE" --name "shadow, canary" --flush-every 1s --log-level warn & SPID=$!
for port in "$LP" "$CP" "$PP"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
for i in $(seq 1 200); do curl -s "http://127.0.0.1:$PP/orders/$i" >/dev/null; done
for i in $(seq 1 20); do curl -s "http://127.0.0.1:$PP/products" >/dev/null; done
sleep 1
kill -TERM $SPID; wait $SPID || true
kill $LPID $CPID 2>/dev/null || true

"$BIN" compare report --store "$STORE" --html "$OUT/parity.html" --md "$OUT/parity.md" --json "$OUT/parity.json"
echo "report: $OUT/parity.html"
