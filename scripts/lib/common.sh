# Sourced by scripts/lib/postgres.sh and scripts/lib/redis.sh: what the throwaway servers of
# the tests share.

# Runs a command as user $1 (or as ourselves when we are not root): the servers refuse to
# run as root, or should not.
herald_run_as() {
  local user=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# Prints a loopback port nothing listens on.
herald_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}
