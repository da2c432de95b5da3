#!/usr/bin/env bash
# Local stack for strangler: a scratch MariaDB with a binlog fit for CDC (127.0.0.1:3307),
# a Kinesis API server (kinesalite, 127.0.0.1:4567) and a scratch PostgreSQL (127.0.0.1:5433),
# all under .devstack/ in the repository. Idempotent: `up` on a running stack only checks it.
#
#   scripts/devstack.sh up      start what is not running (installs missing packages on Debian)
#   scripts/devstack.sh down    stop everything the stack started
#   scripts/devstack.sh env     print the environment the tests and the demo read
#   scripts/devstack.sh status  say what is running
#
# It never touches a MariaDB or PostgreSQL the machine already runs on their standard ports.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK=${STRANGLER_STACK_DIR:-$ROOT/.devstack}
MYSQL_PORT=${STRANGLER_STACK_MYSQL_PORT:-3307}
KINESIS_PORT=${STRANGLER_STACK_KINESIS_PORT:-4567}
PG_PORT=${STRANGLER_STACK_PG_PORT:-5433}

log() { printf 'devstack: %s\n' "$*" >&2; }
die() { printf 'devstack: error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what logfile
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    port_open "$1" && return 0
    sleep 0.1
  done
  [ -f "$4" ] && tail -n 30 "$4" >&2
  die "$3 did not open 127.0.0.1:$1 within $2 s (log: $4)"
}

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing $*: install Debian/Ubuntu packages '$*' (or run this script as root on Debian to have it done)"
  fi
  log "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}

mariadb_up() {
  local dir=$STACK/mariadb
  if port_open "$MYSQL_PORT"; then
    log "mariadb already listening on 127.0.0.1:$MYSQL_PORT"
    return
  fi
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  export PATH=$PATH:/usr/sbin
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    log "initialising scratch MariaDB datadir in $dir/data"
    mariadb-install-db --no-defaults --datadir="$dir/data" --user=root \
      --auth-root-authentication-method=normal >"$dir/install.log" 2>&1 ||
      { tail -n 20 "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  mkdir -p "$dir/tmp" # its own temporary files: not /tmp, which other servers share
  log "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
  # ROW format, FULL image and FULL metadata with GTIDs: what `strangler cdc run` asks of a source.
  nohup mariadbd --no-defaults --datadir="$dir/data" --user=root --port="$MYSQL_PORT" \
    --bind-address=127.0.0.1 --socket="$dir/sock" --pid-file="$dir/pid" --tmpdir="$dir/tmp" \
    --log-bin="$dir/data/binlog" --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-row-metadata=FULL --server-id=1 --log-slave-updates --gtid-strict-mode=1 \
    --skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-connections=500 --max-binlog-size=64M --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-allowed-packet=256M \
    --log-error="$dir/error.log" >"$dir/stdout.log" 2>&1 &
  wait_port "$MYSQL_PORT" 60 MariaDB "$dir/error.log"
}

kinesis_up() {
  local dir=$STACK/kinesalite tools=$ROOT/tools/kinesalite
  if port_open "$KINESIS_PORT"; then
    log "kinesis already listening on 127.0.0.1:$KINESIS_PORT"
    return
  fi
  command -v npm >/dev/null || die "npm is missing: install Node.js 20 with npm"
  if [ ! -x "$tools/node_modules/.bin/kinesalite" ] || [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
    log "installing pinned kinesalite (npm ci in tools/kinesalite)"
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || die "npm ci in $tools failed"
  fi
  mkdir -p "$dir"
  log "starting kinesalite on 127.0.0.1:$KINESIS_PORT"
  nohup node "$tools/serve.js" --host 127.0.0.1 --port "$KINESIS_PORT" \
    --createStreamMs 5 --deleteStreamMs 5 --updateStreamMs 5 --shardLimit 1000 \
    >"$dir/kinesalite.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_port "$KINESIS_PORT" 30 kinesalite "$dir/kinesalite.log"
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  return 1
}

postgres_up() {
  local dir=$STACK/postgres bin
  if [ -n "${STRANGLER_TEST_PG_DSN:-}" ]; then
    log "using PostgreSQL from STRANGLER_TEST_PG_DSN"
    return
  fi
  if port_open "$PG_PORT"; then
    log "postgres already listening on 127.0.0.1:$PG_PORT"
    return
  fi
  bin=$(pg_bindir) || { apt_install postgresql; bin=$(pg_bindir) || die "no pg_ctl after installing postgresql"; }
  mkdir -p "$dir"
  # PostgreSQL refuses to run as root: the cluster belongs to the postgres user when we are root.
  local runas=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown postgres "$dir"
    chmod 755 "$STACK"
    runas=(runuser -u postgres --)
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising scratch PostgreSQL cluster in $dir/data"
    "${runas[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -h 127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { tail -n 20 "$dir/postgres.log" >&2; die "pg_ctl start failed"; }
}

down() {
  local bin
  if [ -f "$STACK/mariadb/pid" ]; then
    log "stopping MariaDB"
    kill "$(cat "$STACK/mariadb/pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do port_open "$MYSQL_PORT" || break; sleep 0.1; done
  fi
  if [ -f "$STACK/kinesalite/pid" ]; then
    log "stopping kinesalite"
    kill "$(cat "$STACK/kinesalite/pid")" 2>/dev/null || true
    rm -f "$STACK/kinesalite/pid"
  fi
  if [ -f "$STACK/postgres/data/postmaster.pid" ] && bin=$(pg_bindir); then
    log "stopping PostgreSQL"
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$STACK/postgres/data" -m fast stop >/dev/null || true
    else "$bin/pg_ctl" -D "$STACK/postgres/data" -m fast stop >/dev/null || true; fi
  fi
}

env_out() {
  cat <<EOF
export STRANGLER_TEST_MYSQL_DSN='mysql://root@tcp(127.0.0.1:$MYSQL_PORT)/'
export STRANGLER_TEST_KINESIS_ENDPOINT='http://127.0.0.1:$KINESIS_PORT'
export STRANGLER_TEST_PG_DSN='${STRANGLER_TEST_PG_DSN:-postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable}'
export AWS_REGION=\${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-local}
export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-local}
EOF
}

status() {
  local p
  for p in "MariaDB:$MYSQL_PORT" "Kinesis:$KINESIS_PORT" "PostgreSQL:$PG_PORT"; do
    if port_open "${p#*:}"; then echo "${p%%:*} up on 127.0.0.1:${p#*:}"; else echo "${p%%:*} down"; fi
  done
}

case "${1:-}" in
  up)
    mkdir -p "$STACK"
    mariadb_up
    kinesis_up
    postgres_up
    log "stack is up; 'scripts/devstack.sh env' prints its environment"
    ;;
  down) down ;;
  env) env_out ;;
  status) status ;;
  *) echo "usage: $0 up|down|env|status" >&2; exit 2 ;;
esac
