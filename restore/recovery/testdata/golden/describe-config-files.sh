# run these as postgres, the data directory's owner (sudo -u postgres -s when root), with files private to it
umask 077
# never overwrite a configuration file that exists
set -C
# write postgresql.conf
cat > "$PGDATA"/postgresql.conf <<'EOF'
# Written by pgrescue: WAL-E does not archive postgresql.conf, and PostgreSQL
# does not start without one. This minimal file only lets the restored cluster
# start; pgrescue passes what recovery needs on the command line. Bring over
# production's settings before this server does real work.
listen_addresses = ''	# Unix socket only
EOF
# write pg_hba.conf
cat > "$PGDATA"/pg_hba.conf <<'EOF'
# Written by pgrescue: WAL-E does not archive pg_hba.conf. Only local (Unix
# socket) connections by the data directory's owner, as the database user of
# the same name, are allowed until production's file is brought over.
# TYPE  DATABASE  USER  METHOD
local   all       postgres  peer
EOF
# write pg_ident.conf
cat > "$PGDATA"/pg_ident.conf <<'EOF'
# Written by pgrescue: WAL-E does not archive pg_ident.conf. No user name maps.
EOF
