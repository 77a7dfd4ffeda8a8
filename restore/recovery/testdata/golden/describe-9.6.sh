# run these as the data directory's owner (sudo -u postgres -s when root), with files private to it
umask 077
# write recovery.conf
cat > "$PGDATA"/recovery.conf <<'EOF'
# Written by pgrescue: archive recovery settings for PostgreSQL 9.6.
# PostgreSQL renames this file to recovery.done once recovery has finished.
# recovery_target_action = 'promote': at the target, finish recovery instead of pausing (or shutting down).
restore_command = 'pgrescue --envdir /etc/wal-e/env.d wal-fetch "%f" "%p"'
recovery_target_time = '2026-11-25 02:52:52.067732+00'
recovery_target_action = 'promote'
recovery_target_timeline = 'latest'
EOF
