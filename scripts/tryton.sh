#!/usr/bin/env bash
# A real Tryton 6.0 (Debian bookworm packages) on 127.0.0.1 for the ERP integration tests and
# the ERP benchmark, on the machine's PostgreSQL as in production: SQLite hands out sequence
# numbers without locking and never reports a lock or serialization conflict, so concurrency
# cannot be tested on it. Idempotent; safe to call again while it runs.
#
#   bash scripts/tryton.sh [start]   install packages if missing, create the database from the
#                                    seeded template (building the template first if needed),
#                                    start trytond, wait until it answers
#   bash scripts/tryton.sh stop      stop the trytond started here (by its pidfile)
#   bash scripts/tryton.sh reset     stop, recreate the database from the seeded template, start
#   bash scripts/tryton.sh status    running or not, and where
#   bash scripts/tryton.sh env       `export ERP_URL=… ERP_DATABASE=… ERP_USER=… ERP_PASSWORD=…` lines
#   bash scripts/tryton.sh template  build the template databases if missing, touching no working
#                                    database (with another TRYTON_DIR and TRYTON_PORT it runs
#                                    beside a server started here)
#
# Knobs (environment): TRYTON_PORT (8000), TRYTON_DIR (<repo>/.tryton), TRYTON_DB
# (stockbridge_tryton_<hash of TRYTON_DIR>),
# TRYTON_PG (postgresql://postgres@127.0.0.1:5432, trust authentication), TRYTON_ADMIN_PASSWORD,
# TRYTON_CACHE_DIR (/var/cache/stockbridge-tryton).
#
# Two template databases, each keyed by its comment, spare the slow steps:
# - stockbridge_tryton_base: the modules activated (trytond-admin on PostgreSQL: 5 to 20 minutes on two
#   busy cores), keyed by the trytond version, the module list and the admin password;
# - stockbridge_tryton_template: the base plus the seed (~40 s), keyed by the base key and a hash of
#   this script, of the seed script and of the code it runs.
# `reset` makes the working database with `CREATE DATABASE … TEMPLATE …` (a file copy: seconds).
# Editing the seed or the RPC client costs a re-seed; only a new module or trytond costs a new base.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRYTON_PORT=${TRYTON_PORT:-8000}
TRYTON_DIR=${TRYTON_DIR:-$ROOT/.tryton}
mkdir -p "$TRYTON_DIR"
# trytond resolves a relative database path against its own working directory: pin it.
TRYTON_DIR=$(cd "$TRYTON_DIR" && pwd)
# One working database per state directory, so that two checkouts (or CI beside a developer)
# never drop each other's database.
TRYTON_DB=${TRYTON_DB:-stockbridge_tryton_$(printf '%s' "$TRYTON_DIR" | sha256sum | cut -c1-8)}
# The templates are shared by every state directory on the machine (tests, benchmark): one
# build serves all.
TRYTON_TEMPLATE_DB=stockbridge_tryton_template
TRYTON_BASE_DB=stockbridge_tryton_base
case "$TRYTON_DB" in
  "$TRYTON_TEMPLATE_DB" | "$TRYTON_BASE_DB" | stockbridge_tryton_building*) printf 'tryton.sh: TRYTON_DB=%s is reserved for the templates\n' "$TRYTON_DB" >&2; exit 1 ;;
esac
TRYTON_PG=${TRYTON_PG:-postgresql://postgres@127.0.0.1:5432}
TRYTON_PG=${TRYTON_PG%/}
# Tryton's password policy wants >= 8 characters, varied, and different from the login (P3).
TRYTON_ADMIN_PASSWORD=${TRYTON_ADMIN_PASSWORD:-Stockbridge-CI-2026}
TRYTON_CACHE_DIR=${TRYTON_CACHE_DIR:-/var/cache/stockbridge-tryton}
TRYTON_USER=admin

# trytond's scripts use /usr/bin/python3; a pyenv shim first on PATH must not win (P17).
PY=/usr/bin/python3
# Python 3.11 makes trytond 6.0 spam DeprecationWarnings (P15).
export PYTHONWARNINGS=ignore

CONF=$TRYTON_DIR/trytond.conf
DATA_DIR=$TRYTON_DIR/data
PIDFILE=$TRYTON_DIR/trytond.pid
LOGFILE=$TRYTON_DIR/trytond.log
SEED_FILE=$TRYTON_DIR/seed.json
ERP_URL="http://127.0.0.1:$TRYTON_PORT/"

PACKAGES=(tryton-server tryton-modules-stock-lot tryton-modules-stock-lot-sled
  tryton-modules-production tryton-modules-sale python3-psycopg2 postgresql-client)
# stock_lot_sled gives lots an expiration date; sale brings stock, account*, product, party,
# company; psycopg2 is trytond's PostgreSQL driver (a Recommends, which the install skips).
MODULES=(stock_lot stock_lot_sled production sale)

log() { printf 'tryton.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"; fi
}

ensure_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  # --no-install-recommends: the recommends are LibreOffice, a PostgreSQL server and an MTA.
  # force-unsafe-io: no fsync per unpacked file; a crash mid-install is re-run anyway.
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
    -o Dpkg::Options::=--force-unsafe-io "${missing[@]}")
  # apt-get update once: up front when the package lists do not know Tryton, else only if the
  # install fails on stale lists (it saves ~10 s on machines whose lists are fresh).
  local aptlog=$TRYTON_DIR/apt.log
  if ! apt-cache policy tryton-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$aptlog" 2>&1 &&
      as_root "${install[@]}" >>"$aptlog" 2>&1
  elif ! as_root "${install[@]}" >>"$aptlog" 2>&1; then
    log "install failed; refreshing the package lists and trying again"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$aptlog" 2>&1 &&
      as_root "${install[@]}" >>"$aptlog" 2>&1
  fi || { tail -n 30 "$aptlog" >&2; die "installing the Tryton packages failed (log: $aptlog)"; }
  log "packages installed"
  # On a systemd host Debian enables its own trytond on localhost:8000 (P14): not ours.
  if command -v systemctl >/dev/null && systemctl is-active --quiet tryton-server 2>/dev/null; then
    as_root systemctl disable --now tryton-server >&2 || true
  fi
}

trytond_version() { dpkg-query -W -f='${Version}' tryton-server; }

# Bump BASE_FORMAT when create_database changes what it makes.
BASE_FORMAT=1
base_key() {
  local hash
  hash=$(printf '%s|%s|%s' "$BASE_FORMAT" "${MODULES[*]}" "$TRYTON_ADMIN_PASSWORD" | sha256sum | cut -c1-16)
  printf 'base-%s-%s' "$(trytond_version)" "$hash"
}

template_key() {
  local hash
  hash=$({ base_key; cat "${BASH_SOURCE[0]}" "$ROOT/scripts/tryton-seed.ts" "$ROOT/scripts/lib/tryton-fixture.ts" \
    "$ROOT/src/erp/tryton/tryton-rpc-client.ts" "$ROOT/src/erp/tryton/tryton-codec.ts"; } | sha256sum | cut -c1-16)
  printf 'seeded-%s-%s' "$(trytond_version)" "$hash"
}

# psql on the maintenance database; -X: no ~/.psqlrc, -At: bare values.
pg() { PGOPTIONS='--client-min-messages=warning' psql "$TRYTON_PG/postgres" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
pg_ident() { printf '"%s"' "${1//\"/\"\"}"; }
pg_literal() { printf "'%s'" "${1//\'/\'\'}"; }
database_exists() { [ "$(pg -c "SELECT 1 FROM pg_database WHERE datname = $(pg_literal "$1")")" = 1 ]; }
database_comment() { pg -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $(pg_literal "$1")"; }
drop_database() {
  # PostgreSQL refuses to drop a template database: unmark it first.
  if database_exists "$1"; then pg -c "ALTER DATABASE $(pg_ident "$1") WITH IS_TEMPLATE false"; fi
  pg -c "DROP DATABASE IF EXISTS $(pg_ident "$1") WITH (FORCE)"
}

pg_reachable() {
  pg -c 'SELECT 1' >/dev/null 2>&1 ||
    die "PostgreSQL is not reachable at $TRYTON_PG (trust authentication for its user expected; set TRYTON_PG)"
}

# The cached seed output of a template, by key (the template database itself is in PostgreSQL).
seed_cache() { printf '%s/%s.seed.json' "$TRYTON_CACHE_DIR" "$1"; }
template_ready() { [ "$(database_comment "$TRYTON_TEMPLATE_DB")" = "$1" ] && [ -s "$(seed_cache "$1")" ]; }

write_config() {
  mkdir -p "$DATA_DIR"
  cat >"$CONF" <<EOF
[web]
listen = 127.0.0.1:$TRYTON_PORT
[database]
uri = $TRYTON_PG/
# Attachments and other files; the records themselves are in PostgreSQL.
path = $DATA_DIR
language = en
[session]
# The integration tests log in from several workers; do not lock them out.
max_attempt = 50
EOF
}

running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled PID must not be mistaken for our server.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q trytond || return 1
  printf '%s' "$pid"
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$TRYTON_PORT") 2>/dev/null; }

rpc_answers() {
  $PY - "$ERP_URL" "$1" <<'EOF' >/dev/null 2>&1
import json, sys, urllib.request
url, db = sys.argv[1], sys.argv[2]
body = json.dumps({"id": 1, "method": "common.db.list", "params": []}).encode()
req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
result = json.load(urllib.request.urlopen(req, timeout=2))["result"]
sys.exit(0 if db in result else 1)
EOF
}

start_server() {
  local db=$1
  if port_taken; then
    die "port $TRYTON_PORT on 127.0.0.1 is taken by another process; set TRYTON_PORT (on a systemd host: systemctl disable --now tryton-server)"
  fi
  rm -f "$PIDFILE"
  # setsid: the server outlives this shell and CI's step; it is stopped by its pidfile.
  setsid nohup /usr/bin/trytond -c "$CONF" --pidfile "$PIDFILE" >>"$LOGFILE" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 1 150); do
    if rpc_answers "$db"; then return 0; fi
    if [ "$i" -gt 5 ] && ! running_pid >/dev/null; then
      tail -n 30 "$LOGFILE" >&2 || true
      die "trytond exited during start-up (log: $LOGFILE)"
    fi
    sleep 0.1
  done
  tail -n 30 "$LOGFILE" >&2 || true
  stop_server
  die "trytond did not answer on $ERP_URL within 15 s (log: $LOGFILE)"
}

stop_server() {
  local pid i
  pid=$(running_pid) || { rm -f "$PIDFILE"; return 0; }
  kill -TERM "$pid"
  # The threaded werkzeug server takes ~1.4 s to exit (P16).
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }
    sleep 0.1
  done
  log "trytond $pid ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

# Module activation on a new PostgreSQL database: the slow step (~5 min on two cores).
create_database() {
  local db=$1 passfile started=$SECONDS
  log "creating database $db (modules: ${MODULES[*]}; 5 to 20 min on PostgreSQL)"
  drop_database "$db"
  # UTF8 from template0: trytond stores any language, whatever the cluster's default encoding.
  pg -c "CREATE DATABASE $(pg_ident "$db") ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
  passfile=$(mktemp)
  printf '%s\n' "$TRYTON_ADMIN_PASSWORD" >"$passfile"
  # --email: on a new database trytond-admin otherwise prompts for it and dies on EOF (P2).
  if ! TRYTONPASSFILE=$passfile /usr/bin/trytond-admin -c "$CONF" -d "$db" \
      --email admin@stockbridge.invalid -u "${MODULES[@]}" --activate-dependencies \
      >>"$LOGFILE" 2>&1; then
    rm -f "$passfile"
    drop_database "$db" || true
    tail -n 30 "$LOGFILE" >&2 || true
    die "trytond-admin failed (log: $LOGFILE)"
  fi
  rm -f "$passfile"
  log "database created in $((SECONDS - started)) s"
}

seed_database() {
  local db=$1 out=$2 started=$SECONDS
  log "seeding company, customers, warehouses, catalogue"
  [ -x "$ROOT/node_modules/.bin/tsx" ] || die "node_modules missing: run npm ci first (the seed uses tsx)"
  (cd "$ROOT" && "$ROOT/node_modules/.bin/tsx" scripts/tryton-seed.ts \
    --url "$ERP_URL" --database "$db" --user "$TRYTON_USER" --password "$TRYTON_ADMIN_PASSWORD" \
    >"$out.tmp") || { rm -f "$out.tmp"; log "seeding failed"; return 1; }
  mv "$out.tmp" "$out"
  log "seeded in $((SECONDS - started)) s"
}

# A template is built under a scratch name and then renamed: a half-built one is never
# mistaken for a ready one, and the working database is left alone meanwhile.
promote() {
  local scratch=$1 name=$2 key=$3
  drop_database "$name"
  pg -c "ALTER DATABASE $(pg_ident "$scratch") RENAME TO $(pg_ident "$name")"
  pg -c "ALTER DATABASE $(pg_ident "$name") WITH IS_TEMPLATE true"
  pg -c "COMMENT ON DATABASE $(pg_ident "$name") IS $(pg_literal "$key")"
}

build_base() {
  local key=$1 scratch=stockbridge_tryton_building_base
  create_database "$scratch"
  promote "$scratch" "$TRYTON_BASE_DB" "$key"
}

build_template() {
  local key=$1 scratch=stockbridge_tryton_building seed base
  base=$(base_key)
  [ "$(database_comment "$TRYTON_BASE_DB")" = "$base" ] || build_base "$base"
  as_root mkdir -p "$TRYTON_CACHE_DIR"
  seed=$(seed_cache "$key")
  drop_database "$scratch"
  pg -c "CREATE DATABASE $(pg_ident "$scratch") TEMPLATE $(pg_ident "$TRYTON_BASE_DB")"
  start_server "$scratch"
  if ! seed_database "$scratch" "$seed"; then
    stop_server
    drop_database "$scratch" || true
    exit 1
  fi
  stop_server
  promote "$scratch" "$TRYTON_TEMPLATE_DB" "$key"
}

ensure_templates() {
  local key
  key=$(template_key)
  template_ready "$key" && return 0
  # One builder per machine: checkouts share the templates (and the scratch names).
  exec 8>/tmp/stockbridge-tryton-templates.lock
  flock -w 3600 8 || die "another tryton.sh has been building the templates for an hour"
  template_ready "$key" || build_template "$key"
  exec 8>&-
}

# The working database, a copy of the template (no session may be open on the template).
database_from_template() {
  local key
  key=$(template_key)
  drop_database "$TRYTON_DB"
  pg -c "CREATE DATABASE $(pg_ident "$TRYTON_DB") TEMPLATE $(pg_ident "$TRYTON_TEMPLATE_DB")"
  pg -c "COMMENT ON DATABASE $(pg_ident "$TRYTON_DB") IS $(pg_literal "$key")"
  cp "$(seed_cache "$key")" "$SEED_FILE"
}

prepare_database() {
  ensure_templates
  database_from_template
}

cmd_template() {
  if port_taken; then die "port $TRYTON_PORT on 127.0.0.1 is taken; building a template needs a free TRYTON_PORT"; fi
  ensure_packages
  pg_reachable
  write_config
  ensure_templates
  log "templates ready: $TRYTON_BASE_DB, $TRYTON_TEMPLATE_DB ($(template_key))"
}

cmd_start() {
  local pid
  if pid=$(running_pid); then
    rpc_answers "$TRYTON_DB" || die "trytond $pid is running but does not answer on $ERP_URL (log: $LOGFILE)"
    log "already running (pid $pid) on $ERP_URL"
    return 0
  fi
  # Before any slow work: a taken port would only fail the start minutes later.
  if port_taken; then
    die "port $TRYTON_PORT on 127.0.0.1 is taken by another process; set TRYTON_PORT (on a systemd host: systemctl disable --now tryton-server)"
  fi
  ensure_packages
  pg_reachable
  write_config
  # A working database made from a template is kept across starts (its comment is the key).
  if [ -z "$(database_comment "$TRYTON_DB")" ] || [ ! -s "$SEED_FILE" ]; then prepare_database; fi
  start_server "$TRYTON_DB"
  log "running (pid $(running_pid)) on $ERP_URL, database $TRYTON_DB"
}

cmd_reset() {
  local started=$SECONDS
  stop_server
  ensure_packages
  pg_reachable
  write_config
  prepare_database
  start_server "$TRYTON_DB"
  log "reset in $((SECONDS - started)) s; running (pid $(running_pid)) on $ERP_URL, database $TRYTON_DB"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    if rpc_answers "$TRYTON_DB"; then echo "running pid=$pid url=$ERP_URL database=$TRYTON_DB"
    else echo "running pid=$pid url=$ERP_URL (not answering)"; return 1; fi
  else
    echo "stopped"
    return 3
  fi
}

cmd_env() {
  printf 'export ERP_URL=%q\n' "$ERP_URL"
  printf 'export ERP_DATABASE=%q\n' "$TRYTON_DB"
  printf 'export ERP_USER=%q\n' "$TRYTON_USER"
  printf 'export ERP_PASSWORD=%q\n' "$TRYTON_ADMIN_PASSWORD"
}

# One command at a time per state directory (CI steps, parallel shells).
case "${1:-start}" in
  start | stop | reset | template)
    exec 9>"$TRYTON_DIR/.lock"
    flock -w 900 9 || die "another tryton.sh holds $TRYTON_DIR/.lock"
    ;;
esac
case "${1:-start}" in
  start) cmd_start ;;
  stop) stop_server; log "stopped" ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  env) cmd_env ;;
  template) cmd_template ;;
  *) die "usage: $0 [start|stop|reset|status|env|template]" ;;
esac
