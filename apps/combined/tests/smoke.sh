#!/bin/sh
# Smoke test for a running taskboard container: ./tests/smoke.sh [base-url]
set -eu
BASE="${1:-http://127.0.0.1:3000}"
curl -fsS "$BASE/health" | grep -q '"status":"ok"'
curl -fsS "$BASE/" | grep -q '<div id="root">'
curl -fsS "$BASE/api/tasks" | grep -q '\['
echo "smoke test passed against $BASE"
