#!/usr/bin/env bash
# Import benchmark: N generated claims through the full intake path (eligibility, checks,
# calculation, routing, audit) on SQLite, with peak memory from /usr/bin/time -v.
# Usage: bash bench/import.sh [CLAIMS]   (default 100000). Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
cargo build --release --quiet
BIN=target/release/claimflow
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CLAIMFLOW_DATA_DIR="$WORK/data" CLAIMFLOW_DEMO_PASSWORD=bench-password RUST_LOG=warn
$BIN gen --seed 7 --claims "$N" --out "$WORK/gen"
$BIN seed-demo >/dev/null
echo "batch-clerk-password" | $BIN user add --username batch_clerk --role clerk --region 330300 >/dev/null
$BIN import facilities "$WORK/gen/facilities.csv" --as admin
$BIN import persons "$WORK/gen/persons.csv" --as admin
$BIN import enrolments "$WORK/gen/enrolments.csv" --as admin
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v $BIN import claims "$WORK/gen/claims.csv" --batch 2000 --as batch_clerk 2> "$WORK/time.txt" || true
    grep -E "Maximum resident set size|Elapsed" "$WORK/time.txt"
else
    $BIN import claims "$WORK/gen/claims.csv" --batch 2000 --as batch_clerk
fi
head -5 "$WORK/gen/claims.csv.errors.csv"
