#!/usr/bin/env bash
# The test command (npm test). It provides for itself: PostgreSQL is started when it is down,
# and says so. Node 20's --test does not expand globs, so the file list comes from find.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "test: PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "test: PostgreSQL 15 is needed on 127.0.0.1:5432 (trust auth) and could not be started"; exit 1; }
fi

# Third-party programs from Debian that tests run for real (they fail, never skip, without them):
# Prometheus 2.42 for the Prometheus signal-source tests, Alertmanager 0.25 for the Alertmanager
# webhook test, Chromium for the dashboard's browser tests (playwright-core drives it; never a downloaded browser). A missing one is installed with apt-get (about 15 s each), or the run stops
# naming the package.
require_debian_binary() {
  local bin="$1" package="$2" what="$3"
  [ -x "$bin" ] && return 0
  echo "test: $bin is missing; installing Debian's $package package for $what (apt-get install -y $package, about 15 s)"
  if [ "$(id -u)" -ne 0 ]; then echo "test: installing needs root; run: sudo apt-get update && sudo apt-get install -y $package"; exit 1; fi
  local apt_log
  apt_log="$(mktemp)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"; } >"$apt_log" 2>&1 || [ ! -x "$bin" ]; then
    tail -n 20 "$apt_log"; rm -f "$apt_log"
    echo "test: could not install $package (needed for $what); run: apt-get update && apt-get install -y $package"; exit 1
  fi
  rm -f "$apt_log"
  echo "test: installed $("$bin" --version 2>&1 | head -n1)"
}
require_debian_binary /usr/bin/prometheus prometheus "the Prometheus signal-source tests"
require_debian_binary /usr/bin/prometheus-alertmanager prometheus-alertmanager "the Alertmanager webhook test"
require_debian_binary /usr/bin/chromium chromium "the dashboard's browser tests"

# systemd-analyze (Debian's systemd package), for test/systemd-units.test.ts (it fails, never skips, without it).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "test: systemd-analyze is missing; installing Debian's systemd package (apt-get install -y systemd)"
  if [ "$(id -u)" -ne 0 ]; then echo "test: installing needs root; run: sudo apt-get update && sudo apt-get install -y systemd"; exit 1; fi
  apt_log="$(mktemp)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd; } >"$apt_log" 2>&1 || ! command -v systemd-analyze >/dev/null 2>&1; then
    tail -n 20 "$apt_log"; rm -f "$apt_log"
    echo "test: could not install systemd-analyze; run: apt-get update && apt-get install -y systemd"; exit 1
  fi
  rm -f "$apt_log"
  echo "test: installed $(systemd-analyze --version | head -n1)"
fi

# The tests run the failsmall command as built (packages/cli/bin/failsmall.js prefers the bundle): rebuild it,
# so that they never test a bundle older than the sources.
echo "test: build (scripts/build.mjs)"
node scripts/build.mjs

echo "test: typecheck (tsc, strict; the dashboard with the DOM's types)"
npx tsc -p tsconfig.json
npx tsc -p packages/web/tsconfig.json

mapfile -t files < <(find packages test -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
echo "test: ${#files[@]} test files"
# --test-force-exit: a test file whose failure leaves a handle open (a server it never closed) must
# end with its failure reported, not hold the whole run until CI's 90-minute limit.
exec node --import tsx --test --test-force-exit --test-concurrency=2 --test-reporter=spec "${files[@]}"
