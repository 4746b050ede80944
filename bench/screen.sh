#!/usr/bin/env bash
# Screening backtest benchmark: N generated claims with planted fraud are imported through
# intake on SQLite, then `claimflow screen` runs every rule over them, scored against the
# planted ground truth. Prints time and peak memory (/usr/bin/time -v) and the summary.
# Usage: bash bench/screen.sh [CLAIMS]   (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
cargo build --release --quiet
BIN=$PWD/target/release/claimflow
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CLAIMFLOW_DATA_DIR="$WORK/data" CLAIMFLOW_DEMO_PASSWORD=bench-password RUST_LOG=warn
$BIN gen --seed 7 --claims "$N" --out "$WORK/gen"
$BIN seed-demo --without-cases >/dev/null
echo "batch-clerk-password" | $BIN user add --username batch_clerk --role clerk --region 330300 >/dev/null
for kind in facilities persons enrolments; do
    $BIN import "$kind" "$WORK/gen/$kind.csv" --as admin >/dev/null
done
# The import exits 3 when rows were rejected (the generator plants some): expected here.
$BIN import claims "$WORK/gen/claims.csv" --batch 2000 --as batch_clerk || [ $? -eq 3 ]
/usr/bin/time -v $BIN screen --from 2019-01-01 --to 2020-12-31 --out "$WORK/report" \
    --truth "$WORK/gen/planted.csv" > "$WORK/screen.txt" 2> "$WORK/time.txt"
cat "$WORK/screen.txt"
grep -E "Maximum resident set size|Elapsed" "$WORK/time.txt"
