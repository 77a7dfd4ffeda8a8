# run these as the data directory's owner (sudo -u postgres -s when root), with files private to it
umask 077
# keep any recovery.conf out of the way (renamed, never deleted)
if [ -e "$PGDATA"/recovery.conf ]; then mv "$PGDATA"/recovery.conf "$PGDATA"/recovery.conf.pgrescue-$(date -u +%Y%m%dT%H%M%SZ); fi
# keep any standby.signal out of the way (renamed, never deleted)
if [ -e "$PGDATA"/standby.signal ]; then mv "$PGDATA"/standby.signal "$PGDATA"/standby.signal.pgrescue-$(date -u +%Y%m%dT%H%M%SZ); fi
# remove the settings of an earlier pgrescue run, if any
sed -i '/^# pgrescue recovery settings: begin/,/^# pgrescue recovery settings: end/d' "$PGDATA"/postgresql.auto.conf
# append pgrescue's recovery settings to postgresql.auto.conf
cat >> "$PGDATA"/postgresql.auto.conf <<'EOF'
# pgrescue recovery settings: begin (pgrescue removes this block once recovery has finished)
# recovery.signal asks for archive recovery; PostgreSQL removes it when recovery has finished.
# recovery_target_action = 'promote': at the target, finish recovery instead of pausing (or shutting down).
restore_command = 'pgrescue --envdir /etc/wal-e/env.d wal-fetch "%f" "%p"'
recovery_target_time = '2026-11-25 02:52:52.067732+00'
recovery_target_action = 'promote'
recovery_target_timeline = 'latest'
# pgrescue recovery settings: end
EOF
# ask for archive recovery (not standby.signal: a standby never finishes)
touch "$PGDATA"/recovery.signal
