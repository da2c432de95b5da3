#!/usr/bin/env bash
# `make bench-compare`: strangler compare data against pt-table-checksum on the local stack.
#
# Two identical million-row tables, and the same with a hundred scattered differences (40
# changed, 30 missing, 30 extra), MariaDB to MariaDB and MariaDB to PostgreSQL; wall time and
# peak RSS of each, next to pt-table-checksum checksumming one side of the same table in
# the same run. Writes the figures and the machine to docs/benchmarks-compare.md (or $1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/docs/benchmarks-compare.md}
ROWS=${BENCH_ROWS:-1000000}
REPEAT=${BENCH_REPEAT:-3}
eval "$("$ROOT/scripts/devstack.sh" env)"
BIN=$ROOT/bin/strangler
(cd "$ROOT" && go build -o "$BIN" ./cmd/strangler)
if ! command -v pt-table-checksum >/dev/null; then
  echo "bench: installing percona-toolkit (pt-table-checksum) with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q percona-toolkit >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q percona-toolkit >/dev/null; }
fi
command -v /usr/bin/time >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
MY="mariadb -uroot -h127.0.0.1 -P3307"
PSQL="psql -q -h 127.0.0.1 -p 5433 -U postgres"

if [ -z "${BENCH_SKIP_FILL:-}" ]; then
echo "bench: filling $ROWS-row tables" >&2
$MY -e "DROP DATABASE IF EXISTS benchcmp; CREATE DATABASE benchcmp"
# Even ids only, so that extra rows can be planted between existing ones.
$MY benchcmp <<SQL
CREATE TABLE a (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL,
  created DATETIME(6) NOT NULL, qty INT NULL, note TEXT NULL) ENGINE=InnoDB;
INSERT INTO a SELECT seq * 2, CONCAT('name-', seq), seq / 100, '2024-01-01' + INTERVAL seq SECOND,
  IF(seq % 7 = 0, NULL, seq % 1000), IF(seq % 3 = 0, NULL, REPEAT('x', seq % 20)) FROM seq_1_to_$ROWS;
CREATE TABLE b LIKE a; INSERT INTO b SELECT * FROM a;
CREATE TABLE c LIKE a; INSERT INTO c SELECT * FROM a;
SET @step = $ROWS DIV 101;
UPDATE c SET name = CONCAT(name, '!') WHERE id IN (SELECT seq * @step * 2 FROM seq_1_to_40);
DELETE FROM c WHERE id IN (SELECT seq * @step * 2 FROM seq_41_to_70);
INSERT INTO c SELECT seq * @step * 2 + 1, 'extra', 1, '2024-01-01', 1, NULL FROM seq_71_to_100;
ANALYZE TABLE a, b, c;
SQL
$PSQL -d postgres -c "DROP DATABASE IF EXISTS benchcmp" -c "CREATE DATABASE benchcmp"
$PSQL -d benchcmp <<SQL
CREATE TABLE a (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, amount NUMERIC(12,2) NOT NULL, created TIMESTAMP(6) NOT NULL, qty INT, note TEXT);
INSERT INTO a SELECT s * 2, 'name-' || s, round(s / 100.0, 2), '2024-01-01'::timestamp + s * interval '1 second',
  CASE WHEN s % 7 = 0 THEN NULL ELSE s % 1000 END, CASE WHEN s % 3 = 0 THEN NULL ELSE repeat('x', s % 20) END FROM generate_series(1, $ROWS) s;
CREATE TABLE c (LIKE a INCLUDING ALL); INSERT INTO c SELECT * FROM a;
UPDATE c SET name = name || '!' WHERE id IN (SELECT s * ($ROWS / 101) * 2 FROM generate_series(1, 40) s);
DELETE FROM c WHERE id IN (SELECT s * ($ROWS / 101) * 2 FROM generate_series(41, 70) s);
INSERT INTO c SELECT s * ($ROWS / 101) * 2 + 1, 'extra', 1, '2024-01-01', 1, NULL FROM generate_series(71, 100) s;
VACUUM ANALYZE;
SQL
fi

MYA='mysql://root@tcp(127.0.0.1:3307)/benchcmp'
PGA='postgres://postgres@127.0.0.1:5433/benchcmp?sslmode=disable'
# The runs are interleaved, round by round (pt-table-checksum, then each comparison), so
# that the machine's load falls on all of them alike: each run's ratio is taken against
# pt-table-checksum's run of the same round, and the median of those ratios is reported.
declare -A WALLS RSS WALL RATIO
TMPT=$(mktemp)
trap 'rm -f "$TMPT"' EXIT
# once NAME CMD...: one run; its wall time goes to WALLS[NAME], its RSS into RSS[NAME] (peak).
once() {
  local name=$1; shift
  /usr/bin/time -o "$TMPT" -f "%e %M" "$@" >/dev/null 2>&1 || true
  local out; out=$(tail -n 1 "$TMPT")
  WALLS[$name]+="${out% *} "
  (( ${out#* } > ${RSS[$name]:-0} )) && RSS[$name]=${out#* }
  return 0
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# /usr/bin/time reports the exit code in its last line on failure; compare exits 1 on
# differences, which is expected here, so the exit code is ignored above and checked below.
PT=(pt-table-checksum h=127.0.0.1,P=3307,u=root --databases benchcmp --tables a --no-check-binlog-format
    --no-check-replication-filters --recursion-method=none)
CMP=("$BIN" compare data --recheck-times 0 --progress never --log-level error)
RUNS=(my_same my_diff pg_same pg_diff)
for ((i = 0; i < REPEAT; i++)); do
  once pt "${PT[@]}"
  once my_same "${CMP[@]}" --source "$MYA" --target "$MYA" --table a=b
  once my_diff "${CMP[@]}" --source "$MYA" --target "$MYA" --table a=c
  once pg_same "${CMP[@]}" --source "$MYA" --target "$PGA" --table a=a
  once pg_diff "${CMP[@]}" --source "$MYA" --target "$PGA" --table a=c
  echo "bench: round $((i + 1)) of $REPEAT done" >&2
done
read -ra ptw <<<"${WALLS[pt]}"
WALL[pt]=$(echo "${WALLS[pt]}" | median)
for name in "${RUNS[@]}"; do
  read -ra w <<<"${WALLS[$name]}"
  WALL[$name]=$(echo "${WALLS[$name]}" | median)
  ratios=""
  for ((i = 0; i < REPEAT; i++)); do
    ratios+="$(awk -v a="${w[$i]}" -v b="${ptw[$i]}" 'BEGIN { printf "%.4f", a / b }') "
  done
  RATIO[$name]=$(echo "$ratios" | median)
  echo "bench: $name: ${WALL[$name]} s (runs: ${WALLS[$name]}), $(( ${RSS[$name]} / 1024 )) MB, vs pt-table-checksum $(printf '%.2f' "${RATIO[$name]}") (rounds: $ratios)" >&2
done
echo "bench: pt: ${WALL[pt]} s (runs: ${WALLS[pt]})" >&2
# The differences must be found to the row.
found=$( ("${CMP[@]}" --source "$MYA" --target "$MYA" --table a=c || true) | grep -o 'missing [0-9]*, extra [0-9]*, changed [0-9]*' | head -1)
pgfound=$( ("${CMP[@]}" --source "$MYA" --target "$PGA" --table a=c || true) | grep -o 'missing [0-9]*, extra [0-9]*, changed [0-9]*' | head -1)
echo "bench: found $found (MariaDB), $pgfound (PostgreSQL)" >&2

ratio() { printf '%.2f' "${RATIO[$1]}"; }
mb() { echo $(( $1 / 1024 )); }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  echo "# Benchmark: strangler compare data"
  echo
  echo "Generated by \`make bench-compare\` ($(date -u +%Y-%m-%d)), on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB,"
  echo "MariaDB $($MY -N -e 'SELECT VERSION()') and PostgreSQL $($PSQL -d postgres -At -c 'SHOW server_version') of the local stack, on the same machine."
  echo "Tables of $ROWS rows, 6 columns (BIGINT UNSIGNED key, VARCHAR, DECIMAL(12,2), DATETIME(6), INT NULL, TEXT NULL)."
  echo "$REPEAT rounds, each running pt-table-checksum then the four comparisons, so that the machine's load falls on all alike."
  echo "Wall time is the median of the runs; \"vs pt-table-checksum\" is the median of each round's ratio to pt-table-checksum's run in the same round; peak RSS is the largest."
  echo "Wall times of the runs: pt-table-checksum ${WALLS[pt]}; identical MariaDB ${WALLS[my_same]}; differences MariaDB ${WALLS[my_diff]}; identical PostgreSQL ${WALLS[pg_same]}; differences PostgreSQL ${WALLS[pg_diff]}."
  echo
  echo "| Run | Wall time | vs pt-table-checksum | Peak RSS |"
  echo "|---|---:|---:|---:|"
  echo "| pt-table-checksum 3.x, one side (MariaDB \`a\`) | ${WALL[pt]} s | 1.00 | $(mb "${RSS[pt]}") MB |"
  echo "| compare data, identical tables, MariaDB → MariaDB (both sides read) | ${WALL[my_same]} s | $(ratio my_same) | $(mb "${RSS[my_same]}") MB |"
  echo "| compare data, 100 scattered differences, MariaDB → MariaDB, found to the row | ${WALL[my_diff]} s | $(ratio my_diff) | $(mb "${RSS[my_diff]}") MB |"
  echo "| compare data, identical tables, MariaDB → PostgreSQL | ${WALL[pg_same]} s | $(ratio pg_same) | $(mb "${RSS[pg_same]}") MB |"
  echo "| compare data, 100 scattered differences, MariaDB → PostgreSQL | ${WALL[pg_diff]} s | $(ratio pg_diff) | $(mb "${RSS[pg_diff]}") MB |"
  echo
  echo "Differences found: MariaDB → MariaDB: $found; MariaDB → PostgreSQL: $pgfound (planted: missing 30, extra 30, changed 40)."
  echo
  echo "Targets: identical tables, both sides read, no slower than pt-table-checksum reading one (ratio ≤ 1);"
  echo "the hundred differences found in under twice its time (ratio < 2); memory under 150 MB."
  echo "Defaults were used (--workers 2, --chunk-time 500ms, --chunk-rows-max 1000000); --recheck-times 0 since the data is static."
  echo "MariaDB → MariaDB hashes rows with the CRC32 of their CRC32 (one text build per row, as pt-table-checksum); any pair with PostgreSQL uses MD5, slower to compute on MariaDB."
} >"$OUT"
echo "bench: wrote $OUT" >&2
cat "$OUT"
