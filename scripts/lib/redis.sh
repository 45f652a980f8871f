# Sourced by scripts/test: a throwaway Redis for the Redis client's tests.
#
# herald_redis_start installs redis-server when it is missing (without letting the package's
# own service run), writes a configuration in a temporary directory owned by an unprivileged
# user, starts the server from it on a free loopback port, and exports:
#   HERALD_TEST_REDIS_URL       redis://:PASSWORD@127.0.0.1:PORT (the default user, with a password)
#   HERALD_TEST_REDIS_ACL_URL   redis://herald:PASSWORD@127.0.0.1:PORT (an ACL user)
#   HERALD_TEST_REDIS_SERVER    the redis-server binary
#   HERALD_TEST_REDIS_CONF      its configuration (daemonized, with a pid file): tests restart it from this
#   HERALD_TEST_REDIS_USER      the user the server runs as
# herald_redis_stop stops that server by PID and removes the directory; call it from a trap.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

herald_redis_dir=""

herald_redis_install() {
  echo "== installing Redis (apt-get install redis-server)"
  export DEBIAN_FRONTEND=noninteractive
  # The package starts its own service; a policy-rc.d that says no keeps it from starting
  # (unless the machine already has one, which then decides).
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
  fi
  local status=0
  if ! apt-get install -y -q redis-server >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q redis-server >/dev/null || status=$?
  fi
  [ -n "$ours" ] && rm -f "$policy"
  # Should it have started all the same (systemd ignores policy-rc.d), stop and disable it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
  return "$status"
}

# Whether the Redis on loopback port $1 (password $2) answers PING within $3 tries a tenth of
# a second apart.
herald_redis_answers() {
  local port=$1 password=$2 tries=$3
  for _ in $(seq 1 "$tries"); do
    REDISCLI_AUTH="$password" redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}

# Runs a command as $HERALD_TEST_REDIS_USER (or as ourselves when we are not root).
herald_redis_as_user() { herald_run_as "$HERALD_TEST_REDIS_USER" "$@"; }

herald_redis_pid() {
  [ -n "$herald_redis_dir" ] && [ -f "$herald_redis_dir/redis.pid" ] && head -n 1 "$herald_redis_dir/redis.pid"
}

herald_redis_start() {
  local server
  server=$(command -v redis-server || true)
  if [ -z "$server" ]; then
    herald_redis_install
    server=$(command -v redis-server || true)
  fi
  [ -n "$server" ] || { echo "scripts/test: redis-server not found after installing" >&2; return 1; }

  if [ "$(id -u)" -eq 0 ]; then
    if id redis >/dev/null 2>&1; then
      HERALD_TEST_REDIS_USER=redis
    else
      id herald-redis >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin herald-redis
      HERALD_TEST_REDIS_USER=herald-redis
    fi
  else
    HERALD_TEST_REDIS_USER=$(id -un)
  fi
  export HERALD_TEST_REDIS_USER HERALD_TEST_REDIS_SERVER="$server"

  herald_redis_dir=$(mktemp -d /tmp/herald-redis.XXXXXX)
  chmod 755 "$herald_redis_dir"
  local password acl_password
  password="herald-$RANDOM$RANDOM"
  acl_password="acl-$RANDOM$RANDOM"
  export HERALD_TEST_REDIS_CONF="$herald_redis_dir/redis.conf"

  local port started=""
  for _ in 1 2 3 4 5; do
    port=$(herald_free_port) || break
    # DEBUG is allowed from loopback so that a test can stall the server (DEBUG SLEEP).
    cat >"$HERALD_TEST_REDIS_CONF" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile $herald_redis_dir/redis.pid
logfile $herald_redis_dir/redis.log
dir $herald_redis_dir
save ""
appendonly no
requirepass $password
user herald on >$acl_password ~* &* +@all
enable-debug-command local
CONF
    [ "$(id -u)" -eq 0 ] && chown -R "$HERALD_TEST_REDIS_USER" "$herald_redis_dir"
    if herald_redis_as_user "$server" "$HERALD_TEST_REDIS_CONF" >"$herald_redis_dir/start.log" 2>&1 </dev/null; then
      herald_redis_answers "$port" "$password" 100 && started=1
    fi
    [ -n "$started" ] && break
    herald_redis_kill
  done
  if [ -z "$started" ]; then
    cat "$herald_redis_dir/start.log" "$herald_redis_dir/redis.log" >&2 2>/dev/null || true
    echo "scripts/test: Redis did not start" >&2
    return 1
  fi
  export HERALD_TEST_REDIS_URL="redis://:$password@127.0.0.1:$port"
  export HERALD_TEST_REDIS_ACL_URL="redis://herald:$acl_password@127.0.0.1:$port"
  echo "== Redis ready on 127.0.0.1:$port (pid $(herald_redis_pid))"
}

# Stops the server whose PID is in the pid file (a test may have restarted it).
herald_redis_kill() {
  local pid
  pid=$(herald_redis_pid || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$herald_redis_dir/redis.pid"
}

herald_redis_stop() {
  [ -n "$herald_redis_dir" ] || return 0
  herald_redis_kill
  rm -rf "$herald_redis_dir"
  herald_redis_dir=""
}

# herald_redis_cluster_start starts a three-master Redis Cluster (no replicas, to keep start-up
# short) on free loopback ports in a temporary directory, as the same user as the server above
# (call herald_redis_start first), joins it with `redis-cli --cluster create` and exports:
#   HERALD_TEST_REDIS_CLUSTER_URL   redis+cluster://:PASSWORD@127.0.0.1:PORT1,127.0.0.1:PORT2,127.0.0.1:PORT3
# herald_redis_cluster_stop stops the three servers by PID and removes the directory.

herald_redis_cluster_dir=""

# A port whose cluster bus port (port + 10000) is free too.
herald_redis_cluster_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 35000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
      ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

herald_redis_cluster_start() {
  local server="${HERALD_TEST_REDIS_SERVER:-$(command -v redis-server || true)}"
  [ -n "$server" ] || { echo "scripts/test: redis-server not found" >&2; return 1; }
  local user="${HERALD_TEST_REDIS_USER:-$(id -un)}"
  herald_redis_cluster_dir=$(mktemp -d /tmp/herald-redis-cluster.XXXXXX)
  chmod 755 "$herald_redis_cluster_dir"
  local password="cluster-$RANDOM$RANDOM" ports=() addresses=() port node attempt up
  [ "$(id -u)" -eq 0 ] && chown "$user" "$herald_redis_cluster_dir"
  for node in 1 2 3; do
    mkdir -p "$herald_redis_cluster_dir/$node"
    [ "$(id -u)" -eq 0 ] && chown "$user" "$herald_redis_cluster_dir/$node"
    # A free port can be taken before the server binds it (other programs' connections use the
    # same range): a node that does not come up is tried again on another port.
    up=""
    for attempt in 1 2 3 4 5; do
      port=$(herald_redis_cluster_free_port) || { echo "scripts/test: no free port for Redis Cluster" >&2; return 1; }
      cat >"$herald_redis_cluster_dir/$node/redis.conf" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile $herald_redis_cluster_dir/$node/redis.pid
logfile $herald_redis_cluster_dir/$node/redis.log
dir $herald_redis_cluster_dir/$node
save ""
appendonly no
requirepass $password
masterauth $password
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
enable-debug-command local
CONF
      rm -f "$herald_redis_cluster_dir/$node/nodes.conf" "$herald_redis_cluster_dir/$node/redis.pid"
      [ "$(id -u)" -eq 0 ] && chown "$user" "$herald_redis_cluster_dir/$node/redis.conf"
      if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$user" -- "$server" "$herald_redis_cluster_dir/$node/redis.conf" >/dev/null 2>&1 </dev/null || true
      else
        "$server" "$herald_redis_cluster_dir/$node/redis.conf" >/dev/null 2>&1 </dev/null || true
      fi
      herald_redis_answers "$port" "$password" 50 && up=1
      [ -n "$up" ] && break
      if [ -f "$herald_redis_cluster_dir/$node/redis.pid" ]; then
        kill -TERM "$(head -n 1 "$herald_redis_cluster_dir/$node/redis.pid")" 2>/dev/null || true
      fi
      echo "== Redis Cluster node $node did not start on port $port (attempt $attempt); trying another port" >&2
    done
    [ -n "$up" ] || { cat "$herald_redis_cluster_dir"/*/redis.log >&2 2>/dev/null; echo "scripts/test: a Redis Cluster node did not start" >&2; return 1; }
    ports+=("$port")
    addresses+=("127.0.0.1:$port")
  done
  if ! REDISCLI_AUTH="$password" redis-cli --no-auth-warning --cluster create "${addresses[@]}" --cluster-yes \
    >"$herald_redis_cluster_dir/create.log" 2>&1; then
    cat "$herald_redis_cluster_dir/create.log" >&2
    echo "scripts/test: redis-cli --cluster create failed" >&2
    return 1
  fi
  # Every node must see every slot served before the tests start.
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do
      REDISCLI_AUTH="$password" redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning cluster info 2>/dev/null |
        grep -q "cluster_state:ok" && break
      sleep 0.1
    done
  done
  local joined
  joined=$(IFS=,; echo "${addresses[*]}")
  export HERALD_TEST_REDIS_CLUSTER_URL="redis+cluster://:$password@$joined"
  echo "== Redis Cluster ready on $joined"
}

herald_redis_cluster_stop() {
  [ -n "$herald_redis_cluster_dir" ] || return 0
  local pidfile pid
  for pidfile in "$herald_redis_cluster_dir"/*/redis.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(head -n 1 "$pidfile")
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pidfile in "$herald_redis_cluster_dir"/*/redis.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(head -n 1 "$pidfile")
    for _ in $(seq 1 100); do
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$herald_redis_cluster_dir"
  herald_redis_cluster_dir=""
}
