# pgrescue: `make test` is the whole suite (it installs the Debian packages the
# end-to-end tests need when they are missing); `make bench` prints the figures.
GO ?= go

.PHONY: test build bench bench-pgdump bench-inspect bench-peers deps
# Static: no C library to match on the database machine, and 2 MiB less
# resident memory per process than a binary linked against libc.
build:
	CGO_ENABLED=0 $(GO) build -o pgrescue .

deps:
	./.ci/deps

test: deps
	$(GO) test -count=1 -race -timeout 40m ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./format/lzop/ ./gpg/
	$(GO) test -run '^$$' -bench 'BenchmarkFetchVersusCPipeline$$' -benchtime 1x -timeout 30m .
	$(GO) test -run '^$$' -bench 'BenchmarkReplay$$' -benchtime 1x -timeout 30m .
	$(GO) test -run '^$$' -bench 'BenchmarkColdWALFetch$$' -benchtime 1x -timeout 30m .
	$(GO) test -run '^$$' -bench 'BenchmarkBuild$$' -benchtime 3x -timeout 10m ./demo/

# The legacy pg_dump import against gunzip | psql (PGRESCUE_BENCH_DUMP_MB, default 1024).
bench-pgdump: deps
	$(GO) test -run '^$$' -bench 'BenchmarkPgDumpImport$$' -benchtime 1x -timeout 90m .

# wal-inspect over 1 GiB of archived WAL against wal-fetch + pg_waldump by hand (PGRESCUE_BENCH_SEGMENTS, default 64).
bench-inspect: deps
	$(GO) test -run '^$$' -bench 'BenchmarkWALInspect$$' -benchtime 1x -timeout 60m .

# pgrescue against the C pipeline, the write and decode floors, the cp
# recovery floor and WAL-G (when on PATH), on a real cluster of
# PGRESCUE_BENCH_PEERS_MB (default 1024) in WAL-E's format; medians and
# paired ratios of PGRESCUE_BENCH_RUNS rounds (default 5) after a warm-up
# round. On ext4 without a journal each round waits a minute first (see trash in peers_bench_test.go).
bench-peers: deps
	$(GO) test -run '^$$' -bench 'BenchmarkPeers$$' -benchtime 1x -timeout 90m .
