# recovery has finished when this prints nothing (PostgreSQL removes recovery.signal)
ls "$PGDATA"/recovery.signal 2>/dev/null
# remove pgrescue's recovery settings
sed -i '/^# pgrescue recovery settings: begin/,/^# pgrescue recovery settings: end/d' "$PGDATA"/postgresql.auto.conf
