#!/usr/bin/env bash
# Runs the Dockerfile's steps in order on this machine, because no Docker engine runs here:
# the build stage's COPY and RUN lines in a scratch folder, then the run stage (its artefacts
# only, as a non-root user when we are root), then the image's HEALTHCHECK command against
# `node dist/main.js`. Fails loudly on the first step that fails.
#
#   bash scripts/dockerfile-steps.sh            (a few minutes: npm ci, tsc, npm prune)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d /tmp/stockbridge-image.XXXXXX)
BUILD=$WORK/build
RUN=$WORK/run
mkdir -p "$BUILD" "$RUN"
log() { printf 'dockerfile-steps: %s\n' "$*" >&2; }
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

stage=""
# Read the Dockerfile with continuation lines joined.
while IFS= read -r line; do
  case "$line" in
    FROM*" AS build"*) stage=build ;;
    FROM*" AS run"*) stage=run ;;
    "COPY --from=build "*)
      [ "$stage" = run ] || continue
      set -- ${line#COPY --from=build }
      src=${1#/app/}; dest=${2#./}
      log "run: copy $src"
      mkdir -p "$RUN/$(dirname "$dest")"
      cp -a "$BUILD/$src" "$RUN/$dest" ;;
    COPY*)
      [ "$stage" = build ] || continue
      set -- ${line#COPY }
      n=$#; dest=${!n}
      for ((i = 1; i < n; i++)); do
        log "build: copy ${!i}"
        if [ "${dest%/}" = "." ]; then cp -a "$ROOT/${!i}" "$BUILD/"; else mkdir -p "$BUILD/$(dirname "${dest#./}")"; cp -a "$ROOT/${!i}" "$BUILD/${dest#./}"; fi
      done ;;
    RUN*)
      cmd=${line#RUN }
      if [ "$stage" = build ]; then
        log "build: $cmd"
        (cd "$BUILD" && bash -c "$cmd")
      else
        # The run stage's own RUN prepares the data directory for the non-root user.
        log "run: data directory for the service user"
      fi ;;
    HEALTHCHECK*) health=${line#*CMD } ;;
  esac
done < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$ROOT/Dockerfile")

[ -f "$RUN/dist/main.js" ] || { log "the build left no dist/main.js"; exit 1; }
[ -f "$RUN/console/dist/index.html" ] || { log "the build left no console (console/dist/index.html)"; exit 1; }
if find "$RUN/node_modules" -maxdepth 2 -name typescript -type d | grep -q .; then
  log "development dependencies survived the prune (typescript is in the image)"; exit 1
fi

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
DATA=$WORK/data
mkdir -p "$DATA"
as_user=()
if [ "$(id -u)" = 0 ] && id node >/dev/null 2>&1; then user=node; elif [ "$(id -u)" = 0 ]; then user=nobody; fi
if [ -n "${user:-}" ]; then
  chown -R "$user" "$DATA"; chmod o+rx "$WORK"
  as_user=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups)
fi
log "start: node dist/main.js on port $PORT${user:+ as $user}"
(cd "$RUN" && env -i PATH="$PATH" HOME="$DATA" NODE_ENV=production HOST=127.0.0.1 PORT="$PORT" DATA_DIR="$DATA" LOG_LEVEL=warn \
  "${as_user[@]}" node dist/main.js >"$WORK/service.log" 2>&1) &
PID=$!
for _ in $(seq 1 120); do
  # HEALTHCHECK CMD in shell form: Docker runs it with /bin/sh -c, and so do we.
  if (cd "$RUN" && PORT=$PORT sh -c "$health"); then
    log "health check passed"
    node -e "fetch('http://127.0.0.1:$PORT/console/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" \
      || { log "the image serves no console at /console/"; exit 1; }
    log "the console is served at /console/"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    exit 0
  fi
  kill -0 "$PID" 2>/dev/null || { log "the service exited:"; cat "$WORK/service.log" >&2; exit 1; }
  sleep 1
done
log "the health check never passed:"; cat "$WORK/service.log" >&2
exit 1
