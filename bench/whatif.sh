#!/usr/bin/env bash
# What-if benchmark: a generated world imported through intake, then the same claims read
# bare (`claimflow baseline scan`, the ceiling) and replayed under a draft (`claimflow
# whatif`), each timed with peak memory by /usr/bin/time -v.
# Usage: bash bench/whatif.sh [GENERATED_CLAIMS]   (default 2000000: about half are priced
# under pingyang-2019 and replayed; the rest are residents of a county without a policy).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000000}
cargo build --release --quiet
BIN=$PWD/target/release/claimflow
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CLAIMFLOW_DATA_DIR="$WORK/data" CLAIMFLOW_DEMO_PASSWORD=bench-password RUST_LOG=warn
$BIN gen --seed 7 --claims "$N" --out "$WORK/gen" >/dev/null
$BIN seed-demo --without-cases >/dev/null
echo "batch-clerk-password" | $BIN user add --username batch_clerk --role clerk --region 330300 >/dev/null
for kind in facilities persons enrolments; do
    $BIN import "$kind" "$WORK/gen/$kind.csv" --as admin >/dev/null
done
# The import exits 3 when rows were rejected (the generator plants some): expected here.
$BIN import claims "$WORK/gen/claims.csv" --batch 2000 --as batch_clerk | tail -1 || [ $? -eq 3 ]
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
