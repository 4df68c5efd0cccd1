#!/usr/bin/env bash
# A real Tryton 6.0 (Debian bookworm packages, SQLite) on 127.0.0.1 for the ERP integration
# tests and the ERP benchmark. Idempotent; safe to call again while it runs.
#
#   bash scripts/tryton.sh [start]   install packages if missing, create + seed the database
#                                    (or copy the cached template), start trytond, wait until it answers
#   bash scripts/tryton.sh stop      stop the trytond started here (by its pidfile)
#   bash scripts/tryton.sh reset     stop, restore the pristine seeded database, start (~3 s)
#   bash scripts/tryton.sh status    running or not, and where
#   bash scripts/tryton.sh env       `export ERP_URL=… ERP_DATABASE=… ERP_USER=… ERP_PASSWORD=…` lines
#
# Knobs (environment): TRYTON_PORT (8000), TRYTON_DIR (<repo>/.tryton), TRYTON_DB (stockbridge),
# TRYTON_ADMIN_PASSWORD, TRYTON_CACHE_DIR (/var/cache/stockbridge-tryton).
#
# The seeded database is cached per (trytond version, hash of this script, of the seed script
# and of the code it runs, admin password), so that a fresh checkout on the same machine starts
# in ~1.5 s; the cold path (packages ~25 s, database creation ~17 s, seed ~4 s) takes ~45 s on
# two cores. In CI, `reset` gives every run a pristine database (~3.5 s) even in a reused checkout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRYTON_PORT=${TRYTON_PORT:-8000}
TRYTON_DIR=${TRYTON_DIR:-$ROOT/.tryton}
mkdir -p "$TRYTON_DIR"
# trytond resolves a relative database path against its own working directory: pin it.
TRYTON_DIR=$(cd "$TRYTON_DIR" && pwd)
TRYTON_DB=${TRYTON_DB:-stockbridge}
# Tryton's password policy wants >= 8 characters, varied, and different from the login (P3).
TRYTON_ADMIN_PASSWORD=${TRYTON_ADMIN_PASSWORD:-Stockbridge-CI-2026}
TRYTON_CACHE_DIR=${TRYTON_CACHE_DIR:-/var/cache/stockbridge-tryton}
TRYTON_USER=admin

# trytond's scripts use /usr/bin/python3; a pyenv shim first on PATH must not win (P17).
PY=/usr/bin/python3
# Python 3.11 makes trytond 6.0 spam DeprecationWarnings, SQLite backend warnings too (P15).
export PYTHONWARNINGS=ignore

CONF=$TRYTON_DIR/trytond.conf
DB_DIR=$TRYTON_DIR/db
DB_FILE=$DB_DIR/$TRYTON_DB.sqlite
PIDFILE=$TRYTON_DIR/trytond.pid
LOGFILE=$TRYTON_DIR/trytond.log
SEED_FILE=$TRYTON_DIR/seed.json
ERP_URL="http://127.0.0.1:$TRYTON_PORT/"

PACKAGES=(tryton-server tryton-modules-stock-lot tryton-modules-stock-lot-sled
  tryton-modules-production tryton-modules-sale)
# stock_lot_sled gives lots an expiration date; sale brings stock, account*, product, party, company.
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
  # --no-install-recommends: the recommends are LibreOffice, PostgreSQL and an MTA.
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

template_dir() {
  local hash
  hash=$({ cat "${BASH_SOURCE[0]}" "$ROOT/scripts/tryton-seed.ts" "$ROOT/test/erp/tryton-erp.fixture.ts" \
    "$ROOT/src/erp/tryton/tryton-rpc-client.ts" "$ROOT/src/erp/tryton/tryton-codec.ts"; printf '%s' "$TRYTON_ADMIN_PASSWORD"; } \
    | sha256sum | cut -c1-16)
  printf '%s/%s-%s' "$TRYTON_CACHE_DIR" "$(trytond_version)" "$hash"
}

write_config() {
  mkdir -p "$DB_DIR"
  cat >"$CONF" <<EOF
[web]
listen = 127.0.0.1:$TRYTON_PORT
[database]
uri = sqlite://
path = $DB_DIR
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
  $PY - "$ERP_URL" "$TRYTON_DB" <<'EOF' >/dev/null 2>&1
import json, sys, urllib.request
url, db = sys.argv[1], sys.argv[2]
body = json.dumps({"id": 1, "method": "common.db.list", "params": []}).encode()
req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
result = json.load(urllib.request.urlopen(req, timeout=2))["result"]
sys.exit(0 if db in result else 1)
EOF
}

start_server() {
  if port_taken; then
    die "port $TRYTON_PORT on 127.0.0.1 is taken by another process; set TRYTON_PORT (on a systemd host: systemctl disable --now tryton-server)"
  fi
  rm -f "$PIDFILE"
  # setsid: the server outlives this shell and CI's step; it is stopped by its pidfile.
  setsid nohup /usr/bin/trytond -c "$CONF" --pidfile "$PIDFILE" >>"$LOGFILE" 2>&1 </dev/null 9>&- &
  local i
  for i in $(seq 1 150); do
    if rpc_answers; then return 0; fi
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

# A consistent copy of a SQLite database, even while trytond has it open.
sqlite_backup() {
  $PY -c 'import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst); dst.close(); src.close()' "$1" "$2"
}

create_database() {
  local passfile started=$SECONDS
  log "creating database $TRYTON_DB (modules: ${MODULES[*]}; ~20 s)"
  rm -f "$DB_FILE" "$SEED_FILE"
  : >"$DB_FILE" # trytond-admin wants the SQLite file to exist (P1)
  passfile=$(mktemp)
  printf '%s\n' "$TRYTON_ADMIN_PASSWORD" >"$passfile"
  # --email: on a new database trytond-admin otherwise prompts for it and dies on EOF (P2).
  if ! TRYTONPASSFILE=$passfile /usr/bin/trytond-admin -c "$CONF" -d "$TRYTON_DB" \
      --email admin@stockbridge.invalid -u "${MODULES[@]}" --activate-dependencies \
      >>"$LOGFILE" 2>&1; then
    rm -f "$passfile" "$DB_FILE"
    tail -n 30 "$LOGFILE" >&2 || true
    die "trytond-admin failed (log: $LOGFILE)"
  fi
  rm -f "$passfile"
  log "database created in $((SECONDS - started)) s"
}

seed_database() {
  local started=$SECONDS
  log "seeding company, customers, warehouses, catalogue"
  [ -x "$ROOT/node_modules/.bin/tsx" ] || die "node_modules missing: run npm ci first (the seed uses tsx)"
  (cd "$ROOT" && "$ROOT/node_modules/.bin/tsx" scripts/tryton-seed.ts \
    --url "$ERP_URL" --database "$TRYTON_DB" --user "$TRYTON_USER" --password "$TRYTON_ADMIN_PASSWORD" \
    >"$SEED_FILE.tmp") || { rm -f "$SEED_FILE.tmp"; log "seeding failed"; return 1; }
  mv "$SEED_FILE.tmp" "$SEED_FILE"
  log "seeded in $((SECONDS - started)) s"
}

save_template() {
  local dir=$1 tmp
  as_root mkdir -p "$TRYTON_CACHE_DIR"
  tmp=$(as_root mktemp -d "$TRYTON_CACHE_DIR/.tmp.XXXXXX")
  chmod 755 "$tmp"
  sqlite_backup "$DB_FILE" "$tmp/template.sqlite"
  cp "$SEED_FILE" "$tmp/seed.json"
  # Another checkout may have raced us to the same template: either copy is fine.
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then rm -rf "$tmp"; fi
}

restore_template() {
  local dir=$1
  cp "$dir/template.sqlite" "$DB_FILE.tmp" && mv "$DB_FILE.tmp" "$DB_FILE"
  cp "$dir/seed.json" "$SEED_FILE"
}

cmd_start() {
  local pid tdir
  if pid=$(running_pid); then
    rpc_answers || die "trytond $pid is running but does not answer on $ERP_URL (log: $LOGFILE)"
    log "already running (pid $pid) on $ERP_URL"
    return 0
  fi
  # Before any slow work: a taken port would only fail the start 20 s later.
  if port_taken; then
    die "port $TRYTON_PORT on 127.0.0.1 is taken by another process; set TRYTON_PORT (on a systemd host: systemctl disable --now tryton-server)"
  fi
  ensure_packages
  write_config
  tdir=$(template_dir)
  if [ -s "$DB_FILE" ] && [ -s "$SEED_FILE" ]; then
    start_server
  elif [ -f "$tdir/template.sqlite" ]; then
    restore_template "$tdir"
    start_server
  else
    create_database
    start_server
    if ! seed_database; then
      stop_server
      rm -f "$DB_FILE" # a half-seeded database must not be mistaken for a ready one
      exit 1
    fi
    save_template "$tdir"
  fi
  log "running (pid $(running_pid)) on $ERP_URL, database $TRYTON_DB"
}

cmd_reset() {
  local tdir
  stop_server
  ensure_packages
  write_config
  tdir=$(template_dir)
  if [ -f "$tdir/template.sqlite" ]; then
    restore_template "$tdir"
    start_server
  else
    rm -f "$DB_FILE" "$SEED_FILE"
    cmd_start
    return
  fi
  log "reset; running (pid $(running_pid)) on $ERP_URL"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    if rpc_answers; then echo "running pid=$pid url=$ERP_URL database=$TRYTON_DB"
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
  start | stop | reset)
    exec 9>"$TRYTON_DIR/.lock"
    flock -w 300 9 || die "another tryton.sh holds $TRYTON_DIR/.lock"
    ;;
esac
case "${1:-start}" in
  start) cmd_start ;;
  stop) stop_server; log "stopped" ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: $0 [start|stop|reset|status|env]" ;;
esac
