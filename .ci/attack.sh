#!/usr/bin/env bash
# The attack suite: schemathesis generates requests from the served OpenAPI document against
# a live demo server, as a reviewer, an admin and a resident, and fails on any 5xx, any
# status the operation does not declare, or any response that does not match its schema. The server's own request counters say
# how many requests arrived and how many were 5xx; the figures go to target/attack-report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CLAIMFLOW_BIN:-target/debug/claimflow}
EXAMPLES=${ATTACK_MAX_EXAMPLES:-30}
MIN_REQUESTS=${ATTACK_MIN_REQUESTS:-5000}
PASSWORD=attack-suite-password

if ! command -v schemathesis >/dev/null 2>&1; then
    echo "--- installing schemathesis"
    python3 -m pip install --quiet schemathesis
fi
[ -x "$BIN" ] || cargo build --quiet

DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
CLAIMFLOW_DATA_DIR="$DATA" CLAIMFLOW_BIND="127.0.0.1:$PORT" CLAIMFLOW_DEMO_PASSWORD="$PASSWORD" \
    CLAIMFLOW_MAIL__BACKEND=memory CLAIMFLOW_JOBS__ENABLED=false \
    "$BIN" serve --demo >"$DATA/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 60); do
    curl -sf "$BASE/healthz" >/dev/null && break
    sleep 1
done
curl -sf "$BASE/healthz" >/dev/null || { cat "$DATA/serve.log"; exit 1; }

# All tokens first: the run's own failed sign-ins slow this address down (by design).
declare -A TOKENS
for role in reviewer admin resident supervisor; do
    TOKENS[$role]=$(curl -sf -X POST "$BASE/api/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$role\",\"password\":\"$PASSWORD\"}" |
        python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
done

counters() {
    # Total requests and 5xx answers, from the server's Prometheus counters (loopback only).
    curl -sf "$BASE/metrics" | python3 -c '
import re, sys
total = errors = 0
for line in sys.stdin:
    m = re.match(r"claimflow_http_requests_total\{(.*)\} (\d+)", line)
    if m:
        n = int(m.group(2)); total += n
        if re.search(r"status=\"5\d\d\"", m.group(1)): errors += n
print(total, errors)'
}

read -r start_total _ < <(counters)
status=0
: >target/attack-report.md
for role in reviewer admin resident supervisor; do
    echo "--- schemathesis as $role"
    # Logout would end the run's own session, and the account endpoints could disable the
    # very user the run signs in as; both are covered by the integration tests instead.
    if ! schemathesis run "$BASE/api/openapi.json" \
        -H "Authorization: Bearer ${TOKENS[$role]}" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance \
        --exclude-path-regex '/api/auth/logout|/api/admin/users/' \
        --max-examples "$EXAMPLES" --workers 2 --no-color \
        --seed 20261202 >"$DATA/$role.log" 2>&1; then
        status=1
        sed -n '/FAILURES/,$p' "$DATA/$role.log" | head -200
    fi
    grep -A1 "^Test cases" "$DATA/$role.log" | tail -1 | sed "s/^/$role: /" | tee -a target/attack-report.md
done
read -r end_total errors < <(counters)
sent=$((end_total - start_total))
echo "requests received: $sent, 5xx: $errors" | tee -a target/attack-report.md
[ "$errors" -eq 0 ] || { echo "the server answered 5xx"; status=1; }
[ "$sent" -ge "$MIN_REQUESTS" ] || { echo "only $sent requests, fewer than $MIN_REQUESTS"; status=1; }
exit $status
