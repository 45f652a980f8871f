# Sourced by scripts/test: a throwaway PostgreSQL for the tests.
#
# herald_pg_start installs PostgreSQL when it is missing, initialises a cluster in a
# temporary directory owned by an unprivileged user (PostgreSQL refuses to run as root),
# starts it on a free loopback port with fsync on, creates a database and exports:
#   HERALD_TEST_POSTGRES_URL  postgres://herald:...@127.0.0.1:PORT/herald_test
#   HERALD_TEST_PG_BIN        the directory holding initdb, pg_ctl, postgres
#   HERALD_TEST_PG_DATA       the cluster's data directory
#   HERALD_TEST_PG_USER       the user the server runs as (tests stop and restart it as them)
#   HERALD_TEST_POSTGRES_CA   the PEM CA that signed the server's certificate: the server has
#                             ssl = on (for 127.0.0.1 and localhost), and plain connections work too
# herald_pg_stop stops that server by PID and removes the directory; call it from a trap.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

herald_pg_dir=""
herald_pg_pid=""

# The newest PostgreSQL server binaries installed, if any.
herald_pg_find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
  done | tail -n 1
}

herald_pg_install() {
  echo "== installing PostgreSQL (apt-get install postgresql)"
  local before
  before=$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" { print $1 "/" $2 }' || true)
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q postgresql >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q postgresql >/dev/null
  fi
  # The package may start a default cluster; stop the ones it started (we run our own).
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" { print $1 "/" $2 }' | while read -r cluster; do
      if ! grep -qx "$cluster" <<<"$before"; then pg_ctlcluster "${cluster%/*}" "${cluster#*/}" stop || true; fi
    done
  fi
}

herald_pg_install_openssl() {
  command -v openssl >/dev/null 2>&1 && return 0
  echo "== installing openssl (apt-get install openssl)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q openssl >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q openssl >/dev/null
  fi
}

# A CA and a server certificate it signed for 127.0.0.1 and localhost, in $1 (P-256 keys).
herald_pg_make_certificates() {
  local dir=$1
  herald_pg_install_openssl || return 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=Herald test PostgreSQL CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 || return 1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 || return 1
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1 || return 1
  # PostgreSQL refuses a key that others can read.
  chmod 600 "$dir/server.key" "$dir/ca.key"
  chmod 644 "$dir/ca.pem" "$dir/server.crt"
}

# Runs a command as $HERALD_TEST_PG_USER (or as ourselves when we are not root).
herald_pg_as_user() { herald_run_as "$HERALD_TEST_PG_USER" "$@"; }

herald_pg_start() {
  local bin
  bin=$(herald_pg_find_bin)
  if [ -z "$bin" ]; then
    herald_pg_install
    bin=$(herald_pg_find_bin)
  fi
  [ -n "$bin" ] || { echo "scripts/test: PostgreSQL's initdb/postgres not found after installing" >&2; return 1; }

  if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then
      HERALD_TEST_PG_USER=postgres
    else
      id herald-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin herald-pg
      HERALD_TEST_PG_USER=herald-pg
    fi
  else
    HERALD_TEST_PG_USER=$(id -un)
  fi
  export HERALD_TEST_PG_USER HERALD_TEST_PG_BIN="$bin"

  herald_pg_dir=$(mktemp -d /tmp/herald-pg.XXXXXX)
  chmod 755 "$herald_pg_dir"
  local password
  password="herald-$RANDOM$RANDOM"
  printf '%s\n' "$password" >"$herald_pg_dir/pwfile"
  export HERALD_TEST_PG_DATA="$herald_pg_dir/data"
  mkdir "$herald_pg_dir/tls"
  if ! herald_pg_make_certificates "$herald_pg_dir/tls"; then
    echo "scripts/test: cannot make the PostgreSQL test certificates with openssl" >&2
    return 1
  fi
  export HERALD_TEST_POSTGRES_CA="$herald_pg_dir/tls/ca.pem"
  [ "$(id -u)" -eq 0 ] && chown -R "$HERALD_TEST_PG_USER" "$herald_pg_dir"

  echo "== starting PostgreSQL ($bin) in $herald_pg_dir"
  # Superuser `herald` with a password over TCP (SCRAM), trust on the private socket.
  if ! herald_pg_as_user "$bin/initdb" -D "$HERALD_TEST_PG_DATA" -U herald --pwfile="$herald_pg_dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$herald_pg_dir/initdb.log" 2>&1; then
    cat "$herald_pg_dir/initdb.log" >&2
    echo "scripts/test: initdb failed" >&2
    return 1
  fi
  # Everything the tests need on the command line of every start, so a test that restarts
  # the server (pg_ctl start -D $HERALD_TEST_PG_DATA) gets the same settings.
  cat >>"$HERALD_TEST_PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$herald_pg_dir'
fsync = on
synchronous_commit = on
max_connections = 300
ssl = on
ssl_cert_file = '$herald_pg_dir/tls/server.crt'
ssl_key_file = '$herald_pg_dir/tls/server.key'
CONF

  local port started=""
  for _ in 1 2 3 4 5; do
    port=$(herald_free_port) || break
    sed -i "/^port = /d" "$HERALD_TEST_PG_DATA/postgresql.conf"
    echo "port = $port" >>"$HERALD_TEST_PG_DATA/postgresql.conf"
    # Output to files only: the server must not hold on to our stdout/stderr (a CI pipe).
    if herald_pg_as_user "$bin/pg_ctl" -D "$HERALD_TEST_PG_DATA" -l "$herald_pg_dir/server.log" -w -t 60 start \
      >"$herald_pg_dir/pg_ctl.log" 2>&1 </dev/null; then
      started=1
      break
    fi
  done
  if [ -z "$started" ]; then
    cat "$herald_pg_dir/pg_ctl.log" "$herald_pg_dir/server.log" >&2 || true
    echo "scripts/test: PostgreSQL did not start" >&2
    return 1
  fi
  herald_pg_pid=$(head -n 1 "$HERALD_TEST_PG_DATA/postmaster.pid")

  for _ in $(seq 1 100); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
  done
  PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U herald herald_test
  export HERALD_TEST_POSTGRES_URL="postgres://herald:$password@127.0.0.1:$port/herald_test"
  echo "== PostgreSQL ready on 127.0.0.1:$port (pid $herald_pg_pid)"
}

herald_pg_stop() {
  [ -n "$herald_pg_dir" ] || return 0
  # A test may have restarted the server: the current postmaster's PID is in its pid file.
  local pid="$herald_pg_pid"
  if [ -n "${HERALD_TEST_PG_DATA:-}" ] && [ -f "$HERALD_TEST_PG_DATA/postmaster.pid" ]; then
    pid=$(head -n 1 "$HERALD_TEST_PG_DATA/postmaster.pid")
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true # fast shutdown
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -rf "$herald_pg_dir"
  herald_pg_dir=""
}
