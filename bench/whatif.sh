#!/usr/bin/env bash
# What-if benchmark: a generated world imported through intake, then the same claims read
# bare (`claimflow baseline scan`, the ceiling) and replayed under a draft (`claimflow
# whatif`), each timed with peak memory by /usr/bin/time -v.
# Usage: bash bench/whatif.sh [GENERATED_CLAIMS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
cargo build --release --quiet
BIN=$PWD/target/release/claimflow
# BENCH_WORK=DIR keeps the imported world in DIR and reuses it on the next run.
if [ -n "${BENCH_WORK:-}" ]; then
    WORK=$BENCH_WORK
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
export CLAIMFLOW_DATA_DIR="$WORK/data" CLAIMFLOW_DEMO_PASSWORD=bench-password RUST_LOG=warn
if [ ! -f "$WORK/imported" ]; then
$BIN gen --seed 7 --claims "$N" --out "$WORK/gen" >/dev/null
# The generated residents live in two counties and the draft is pingyang-2019's (330326):
# every resident moves to 330326, so that every generated claim is priced and replayed.
sed -i 's/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*\),330327,/\1,330326,/' "$WORK/gen/persons.csv"
$BIN seed-demo --without-cases >/dev/null
echo "batch-clerk-password" | $BIN user add --username batch_clerk --role clerk --region 330300 >/dev/null
for kind in facilities persons enrolments; do
    $BIN import "$kind" "$WORK/gen/$kind.csv" --as admin >/dev/null
done
# The import exits 3 when rows were rejected (the generator plants some): expected here.
/usr/bin/time -v -o "$WORK/import-time.txt" $BIN import claims "$WORK/gen/claims.csv" --batch 2000 --as batch_clerk | tail -1 || [ $? -eq 3 ]
grep -E "Elapsed" "$WORK/import-time.txt"
rm -f "$WORK/gen/claims.csv"
touch "$WORK/imported"
fi
# LOAD_ONLY=1 stops after the import (load on a busy machine, measure on a quiet one).
[ -n "${LOAD_ONLY:-}" ] && exit 0
sed -e 's/{ id = "county", deductible = "900.00"/{ id = "county", deductible = "1000.00"/' \
    -e 's/^name = "pingyang-2019"/name = "pingyang-2019-draft"/' policies/pingyang-2019.toml > "$WORK/draft.toml"
timed() {
    /usr/bin/time -v "$@" 2> "$WORK/time.txt" | tail -2
    grep -E "Maximum resident set size|Elapsed" "$WORK/time.txt"
}
echo "--- bare scan (baseline)"
timed $BIN baseline scan --from 2019-01-01 --to 2019-12-31
echo "--- whatif"
timed $BIN whatif --policy "$WORK/draft.toml" --from 2019-01-01 --to 2019-12-31 --out "$WORK/report"
grep -E "claims replayed" "$WORK/report/summary.md"
echo "--- whatif, a sweep of 3 values in one pass"
timed $BIN whatif --policy "$WORK/draft.toml" --from 2019-01-01 --to 2019-12-31 --out "$WORK/sweep" \
    --sweep inpatient.categories.county.deductible=900..1100/100
