# Sourced by scripts/bench and scripts/connect-floor: a fresh `herald serve` on free loopback
# ports, ended by its PID.
#
# herald_start BINARY WORKDIR ADMIN_KEY [serve flags...] starts it with a new data directory
# under WORKDIR (its output in WORKDIR/server.out and server.err) and waits for its ready
# line; sets server_pid, api_port and tcp_port. Returns 1, saying why, if it exits first or
# prints no ready line within a minute.
# herald_stop ends it (TERM, then waits for it); call it from a trap too.

server_pid=""
api_port=""
tcp_port=""

herald_stop() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

herald_start() {
  local binary=$1 work=$2 key=$3
  shift 3
  local data="$work/data-$RANDOM"
  mkdir -p -m 700 "$data"
  : >"$work/server.out"
  HERALD_ADMIN_KEY=$key "$binary" serve --host 127.0.0.1 --tcp-port 0 --ws-port 0 --api-port 0 \
    --data-dir "$data" --log-level warning "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 600); do
    if grep -q "^herald ready" "$work/server.out" 2>/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$work/server.err" >&2
      echo "herald exited before it was ready" >&2
      server_pid=""
      return 1
    fi
    sleep 0.1
  done
  if ! grep -q "^herald ready" "$work/server.out"; then
    tail -20 "$work/server.err" >&2
    echo "herald printed no ready line within 60 s" >&2
    herald_stop
    return 1
  fi
  local ready
  ready=$(grep "^herald ready" "$work/server.out")
  api_port=$(sed -E 's/.* api=[^ ]*:([0-9]+).*/\1/' <<<"$ready")
  tcp_port=$(sed -E 's/.* tcp=[^ ]*:([0-9]+).*/\1/' <<<"$ready")
}
