#!/usr/bin/env bash
# Starts a PostgreSQL streaming replica of the local test server (127.0.0.1:5432) on
# 127.0.0.1:5433, for the tests of `database_read_url`. A real standby: `pg_basebackup -R`
# into its own data directory (which writes `standby.signal` and `primary_conninfo`),
# started with `pg_ctl` as the postgres user. Idempotent: a running replica is kept.
# Prints nothing on success but the steps taken; exits non-zero when it cannot start one.
set -euo pipefail
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_DIR=${REPLICA_DIR:-/var/tmp/claimflow-replica}
VERSION=$(ls /etc/postgresql | sort -V | tail -n 1)
BIN=/usr/lib/postgresql/$VERSION/bin
HBA=/etc/postgresql/$VERSION/main/pg_hba.conf
as_postgres() { runuser -u postgres -- "$@"; }

if pg_isready -h 127.0.0.1 -p "$REPLICA_PORT" -q &&
    [ "$(psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()')" = t ]; then
    echo "--- replica already running on port $REPLICA_PORT"
    # A test run killed while it had the replay paused would leave it paused.
    psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -qAtc 'SELECT pg_wal_replay_resume()' >/dev/null
    exit 0
fi

# The primary must accept replication connections from loopback (the `all` database
# entry of pg_hba.conf does not cover them).
if ! grep -Eq '^host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust' "$HBA"; then
    echo "--- allowing loopback replication connections in $HBA"
    echo "host replication all 127.0.0.1/32 trust" >>"$HBA"
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" main reload
    sleep 1
fi

echo "--- pg_basebackup into $REPLICA_DIR"
if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$REPLICA_DIR"
install -d -o postgres -g postgres -m 700 "$REPLICA_DIR"
as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$REPLICA_DIR" -R -X stream -c fast

# Debian keeps the configuration under /etc, so the copy has none: a hot standby must allow
# at least the primary's connections, worker processes and locks.
setting() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -Atc "SHOW $1"; }
as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hot_standby = on
max_connections = $(setting max_connections)
max_worker_processes = $(setting max_worker_processes)
max_wal_senders = $(setting max_wal_senders)
max_prepared_transactions = $(setting max_prepared_transactions)
max_locks_per_transaction = $(setting max_locks_per_transaction)
shared_buffers = 128MB
# Answer the standby's own status often, so that the primary's view of it is fresh.
wal_receiver_status_interval = 1s
hot_standby_feedback = on
EOF
as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
as_postgres "$BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w start >/dev/null
for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p "$REPLICA_PORT" -q && break
    sleep 1
done
test "$(psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()')" = t
echo "--- replica streaming on port $REPLICA_PORT"
