package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
)

// BenchmarkColdWALFetch times what PostgreSQL runs once per segment when
// no prefetcher is in the loop: a fresh `pgrescue wal-fetch` process per
// segment, against the C pipeline a WAL-E user would write by hand
// (curl | gpg -d | lzop -dc), one segment after another, on the same
// archive: PGRESCUE_BENCH_SEGMENTS (default 32) segments of a real
// primary's WAL, lzop | gpg -e (RSA 2048), in the in-process S3 server.
// The two take turns, PGRESCUE_BENCH_RUNS rounds (default 3), and the
// best round of each counts; the figure is the time per segment, with
// one wal-fetch's peak RSS. Issue 18's target: no slower than the pipeline.
//
//	make bench   (or go test -run '^$' -bench 'BenchmarkColdWALFetch$' -benchtime 1x .)
func BenchmarkColdWALFetch(b *testing.B) {
	for _, tool := range []string{"lzop", "gpg", "curl", "/usr/bin/time", "initdb", "pg_ctl"} {
		testtool.Need(b, tool)
	}
	segments, runs := benchSize()
	if os.Getenv("PGRESCUE_BENCH_SEGMENTS") == "" {
		segments = 32
	}
	work := benchSharedDir(b)
	gnupg, keyFile := benchKey(b, work)
	pg := newBenchPostgres(b)
	primary := startBenchPrimary(b, pg, work)
	primary.psql(b, `CREATE TABLE bench_rows (id bigint PRIMARY KEY, account text, amount numeric(12,2), created timestamptz, note text)`)
	primary.generate(b, "0/0", int64(segments+1)<<24)
	primary.switchAndStop(b)
	entries, err := os.ReadDir(primary.archiveDir)
	if err != nil {
		b.Fatal(err)
	}
	srv := s3test.Start(b)
	srv.CreateBucket(b, "bench")
	var names []string
	var stored int64
	for _, e := range entries[max(len(entries)-segments, 0):] {
		plain, err := os.ReadFile(filepath.Join(primary.archiveDir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		obj := benchPipe(b, fmt.Sprintf("lzop -c | gpg --homedir %s --batch --trust-model always -e -z 0 -r bench@example.com", gnupg), plain)
		srv.Put(b, "bench", "p/wal_005/"+e.Name()+".lzo", obj, "application/octet-stream", time.Now())
		names = append(names, e.Name())
		stored += int64(len(obj))
	}
	segments = len(names)
	fmt.Printf("\ncold wal-fetch archive: %d segments of 16 MiB of WAL, %.1f MiB stored (lzop | gpg -e, RSA 2048)\n", segments, mib(stored))
	opts := srv.Options()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "GNUPGHOME=" + gnupg, "WALE_S3_PREFIX=s3://bench/p", "WALE_S3_ENDPOINT=" + opts.Endpoint,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + opts.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + opts.SecretAccessKey}
	dest := filepath.Join(work, "pg_wal")
	list := strings.Join(names, " ")
	scripts := []struct{ name, script string }{
		{"pgrescue wal-fetch", fmt.Sprintf("set -e; for s in %s; do %s --gpg-key %s wal-fetch $s %s/$s; done", list, binary, keyFile, dest)},
		{"curl | gpg -d | lzop -dc", fmt.Sprintf("set -eo pipefail; for s in %s; do curl -sf %s/bench/p/wal_005/$s.lzo | gpg -d -q --batch | lzop -dc > %s/$s; done",
			list, srv.URL, dest)},
	}
	best := make([]float64, len(scripts))
	for round := 1; round <= runs; round++ {
		for i, s := range scripts {
			os.RemoveAll(dest)
			os.MkdirAll(dest, 0o700)
			secs, _ := timeOnce(b, env, "bash", "-c", s.script)
			if err := checkSegments(dest, names); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			if best[i] == 0 || secs < best[i] {
				best[i] = secs
			}
		}
	}
	os.MkdirAll(dest, 0o700)
	_, rss := timeOnce(b, env, binary, "--gpg-key", keyFile, "wal-fetch", names[0], filepath.Join(dest, "one"))
	per := func(secs float64) float64 { return secs / float64(segments) * 1000 }
	fmt.Printf("cold wal-fetch: %.1f ms per segment, curl | gpg -d | lzop -dc %.1f ms: %.2fx; one wal-fetch's peak RSS %.1f MiB; best of %d rounds\n",
		per(best[0]), per(best[1]), best[0]/best[1], float64(rss)/1024, runs)
	b.ReportMetric(per(best[0]), "walfetch_ms")
	b.ReportMetric(per(best[1]), "cpipeline_ms")
	b.ReportMetric(best[0]/best[1], "walfetch_x_cpipeline")
	b.ReportMetric(float64(rss)/1024, "walfetch_rss_MiB")
}

// checkSegments: every segment was restored whole.
func checkSegments(dir string, names []string) error {
	for _, n := range names {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		if st.Size() != 16<<20 {
			return fmt.Errorf("%s has %d bytes", n, st.Size())
		}
	}
	return nil
}
