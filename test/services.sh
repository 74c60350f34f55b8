#!/usr/bin/env bash
# PostgreSQL and Redis on loopback for the team-gateway integration tests (test/team-*.test.ts).
#
#   source test/services.sh     # installs (Debian packages) and starts both when absent, then exports
#                               # CORTEX_PROXY_TEST_PG_URL and CORTEX_PROXY_TEST_REDIS_URL
#
# Idempotent and fast when they already run. Both listen on 127.0.0.1 only, on fixed ports (override with
# CORTEX_PROXY_TEST_PG_PORT / CORTEX_PROXY_TEST_REDIS_PORT), with their data under /tmp (throwaway: no fsync,
# no persistence). As root (CI), PostgreSQL runs as the `postgres` user the Debian package creates.
# The tests skip (with a message) only when the two variables are unset.
# No `set -e` here: the file is sourced, and the caller keeps its own shell options.

pg_port=${CORTEX_PROXY_TEST_PG_PORT:-54329}
redis_port=${CORTEX_PROXY_TEST_REDIS_PORT:-63799}
pg_dir=/tmp/cortex-proxy-test-pg
sock_dir=/tmp/cortex-proxy-test-pg-sock

apt_install() {
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null) ||
    { echo "services: could not install $*" >&2; return 1; }
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_pg() { # run a PostgreSQL server command as a non-root user (initdb and postgres refuse root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
  local bin
  bin=$(pg_bin) || { apt_install postgresql && bin=$(pg_bin); } || return 1
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; then return 0; fi
  mkdir -p "$pg_dir" "$sock_dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_dir" "$sock_dir"
  if [ ! -s "$pg_dir/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$pg_dir" -A trust -U postgres --no-sync >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$pg_dir" -l "$pg_dir/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $sock_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server || return 1
  if redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; then return 0; fi
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir /tmp --logfile /tmp/cortex-proxy-test-redis.log >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  return 1
}

start_pg || { echo "services: PostgreSQL did not start (see $pg_dir/server.log)" >&2; return 1 2>/dev/null || exit 1; }
start_redis || { echo "services: Redis did not start (see /tmp/cortex-proxy-test-redis.log)" >&2; return 1 2>/dev/null || exit 1; }
export CORTEX_PROXY_TEST_PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export CORTEX_PROXY_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
echo "services: PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port" >&2
