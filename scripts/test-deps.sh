#!/usr/bin/env bash
# The servers and programs the test suite starts for real (never mocks): PostgreSQL (initdb, the
# keystore tests), Redis and etcd (their keystores, the sync lease), Chromium (the picture's
# screenshot test, driven by playwright-core; no browser is ever downloaded) and zsh (the
# completion test). `npm test` runs this first: what is missing is installed from Debian's
# packages when running as root (as CI does), or named, with the command to install it.
set -uo pipefail

missing=()
need() { # need <package> <check command...>
  local pkg=$1; shift
  "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
need chromium command -v chromium
need zsh command -v zsh
need postgresql bash -c 'ls /usr/lib/postgresql/*/bin/initdb'
need redis-server command -v redis-server
need redis-tools command -v redis-cli   # the Redis Cluster test makes its cluster with redis-cli; the bench uses redis-benchmark
need etcd-server command -v etcd

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing Debian's ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null && exit 0
  echo "test-deps: apt-get install ${missing[*]} failed" >&2
  exit 1
fi
echo "test-deps: the tests start real servers; missing: ${missing[*]}" >&2
echo "test-deps: install them (Debian: sudo apt-get install ${missing[*]}), then run npm test again" >&2
exit 1
