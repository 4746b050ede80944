#!/usr/bin/env bash
# What-if benchmark: a generated world imported through intake, then the same claims read
# bare (`claimflow baseline scan`, the ceiling) and replayed under a draft (`claimflow
# whatif`), each timed with peak memory by /usr/bin/time -v.
# Usage: bash bench/whatif.sh [GENERATED_CLAIMS]   (default 1000000); BENCH_WORK, COPIES,
# LOAD_ONLY and PG_ADMIN below.
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
# PG_ADMIN=postgres://…/db runs it on PostgreSQL instead, in a database cf_whatif_bench
# created beside that one (dropped and created again when the world is loaded).
if [ -n "${PG_ADMIN:-}" ]; then
    export CLAIMFLOW_DATABASE_URL="${PG_ADMIN%/*}/cf_whatif_bench"
    if [ ! -f "$WORK/imported" ]; then
        psql "$PG_ADMIN" -qc 'DROP DATABASE IF EXISTS cf_whatif_bench'
        psql "$PG_ADMIN" -qc 'CREATE DATABASE cf_whatif_bench'
    fi
fi
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
# COPIES=K (K > 1) then copies the imported persons, enrolments and claims K-1 more times
# under new ids, in SQL: a history K times as large for the replay to read (intake itself
# runs at a few thousand claims/s with every claim priced, see README "Import benchmark").
COPIES=${COPIES:-1}
if [ "$COPIES" -gt 1 ] && [ -z "${PG_ADMIN:-}" ] && [ ! -f "$WORK/copied-$COPIES" ]; then
    DB="$WORK/data/claimflow.db"
    P=$(sqlite3 "$DB" "SELECT MAX(id) FROM persons")
    C=$(sqlite3 "$DB" "SELECT MAX(id) FROM claims")
    COLS="resident_user_id, submitted_by, family, encounter_kind, facility_code, admission_date, discharge_date, diagnosis_code, invoice_numbers, total_fen, policy_scope_fen, self_paid_fen, family_facts, region_code, payable_fen, decided_fen, created_at, policy_name, breakdown, decision, itemised_lines, catastrophic_fen, assistance_fen, attending_doctor"
    # The bare scan reads the screening table (claim_stays): its rows are copied with the claims.
    STAY_COLS="admission_date, discharge_date, facility_code, encounter_kind, family, diagnosis_code, rule_facts, total_fen, invoice_numbers, attending_doctor"
    for k in $(seq 1 $((COPIES - 1))); do
        sqlite3 "$DB" "BEGIN;
            INSERT INTO persons (id, id_number, name, sex, birth_date, household, region_code, death_date)
              SELECT id + $k * $P, id_number || '-$k', name, sex, birth_date, household || '-$k', region_code, death_date
              FROM persons WHERE id <= $P;
            INSERT INTO enrolments (person_id, coverage_year, period_start, period_end, tier, enrolled_on, channel, special_groups, disabled_grade)
              SELECT person_id + $k * $P, coverage_year, period_start, period_end, tier, enrolled_on, channel, special_groups, disabled_grade
              FROM enrolments WHERE person_id <= $P;
            INSERT INTO claims (id, person_id, $COLS)
              SELECT id + $k * $C, person_id + $k * $P, $COLS FROM claims WHERE id <= $C;
            INSERT INTO claim_stays (person_id, claim_id, $STAY_COLS)
              SELECT person_id + $k * $P, claim_id + $k * $C, $STAY_COLS FROM claim_stays WHERE claim_id <= $C;
            COMMIT;"
        echo "copy $k of $((COPIES - 1)) written"
    done
    touch "$WORK/copied-$COPIES"
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
