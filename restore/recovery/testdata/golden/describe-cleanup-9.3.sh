# nothing to remove: PostgreSQL renamed recovery.conf to recovery.done when recovery finished
ls -l "$PGDATA"/recovery.done
