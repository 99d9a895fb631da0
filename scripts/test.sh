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

echo "test: typecheck (tsc, strict)"
npx tsc -p tsconfig.json

mapfile -t files < <(find packages test -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
echo "test: ${#files[@]} test files"
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
