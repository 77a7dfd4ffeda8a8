package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgrescue/internal/pgtest"
	"pgrescue/internal/testtool"
)

// BenchmarkPgDumpImport compares, in one run and on one server, what an
// engineer would type by hand (gunzip -c dump.sql.gz | psql -X -v
// ON_ERROR_STOP=1) with pgrescue restore pg-dump on one connection and
// with --jobs 2, on a nightly dump of several large tables with indexes
// (PGRESCUE_BENCH_DUMP_MB of table data, 1024 by default). The rounds are
// interleaved, the order rotated, into a server with PostgreSQL's durable
// defaults (fsync on); it prints medians, paired ratios and
// each run's peak RSS (the process and its psql). pgrescue's times include
// its check, which reads the whole dump once before anything changes.
func BenchmarkPgDumpImport(b *testing.B) {
	testtool.Need(b, "gzip")
	mb := 1024
	if v, err := strconv.Atoi(os.Getenv("PGRESCUE_BENCH_DUMP_MB")); err == nil && v > 0 {
		mb = v
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("PGRESCUE_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	// the target runs as a production server would (fsync on, the default
	// max_wal_size); the source only makes the dump
	src, dst := pgtest.Start(b), pgtest.StartWith(b, pgtest.Options{Durable: true})
	root, sqlBytes := benchDumpTree(b, src, mb)
	b.Logf("dump: %s of SQL (%d MB of table data asked), %s gzipped", humanMB(sqlBytes), mb, humanMB(fileSize(b, root)))
	psql := filepath.Join(dst.Client, "psql")
	env := append(os.Environ(), dst.Env()...)
	file := filepath.Join(root, benchDumpName)
	variants := []struct {
		name string
		cmd  func(round int) *exec.Cmd
	}{
		{"gunzip|psql", func(int) *exec.Cmd {
			return exec.Command("sh", "-c", "gunzip -c "+file+" | "+psql+" -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null")
		}},
		{"pgrescue", func(r int) *exec.Cmd {
			return exec.Command(binary, "restore", "pg-dump", "--source", root, "--database", "bench", "--into", "bench_serial_"+strconv.Itoa(r), "--psql", psql, "--yes")
		}},
		{"pgrescue --jobs 2", func(r int) *exec.Cmd {
			return exec.Command(binary, "restore", "pg-dump", "--source", root, "--database", "bench", "--into", "bench_jobs_"+strconv.Itoa(r), "--psql", psql, "--jobs", "2", "--yes")
		}},
	}
	times := map[string][]time.Duration{}
	rss := map[string][]int64{}
	b.ResetTimer()
	for range b.N {
		for r := range rounds {
			for i := range variants {
				v := variants[(i+r)%len(variants)]
				cmd := v.cmd(r)
				cmd.Env = append(env, "XDG_STATE_HOME="+b.TempDir())
				var stderr strings.Builder
				cmd.Stderr = &stderr
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v\n%s", v.name, err, stderr.String())
				}
				times[v.name] = append(times[v.name], time.Since(start))
				rss[v.name] = append(rss[v.name], cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
				b.StopTimer()
				dropBenchDatabases(b, dst) // the harness's own clean-up; pgrescue never drops
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	base := median(times["gunzip|psql"])
	for _, v := range variants {
		m := median(times[v.name])
		b.Logf("%-18s median %6.1fs  (%.2f MB/s of SQL)  runs %v  peak RSS %d MiB", v.name, m.Seconds(), float64(sqlBytes)/1e6/m.Seconds(), times[v.name], slices.Max(rss[v.name])/1024)
	}
	serial := median(times["pgrescue"])
	jobs := median(times["pgrescue --jobs 2"])
	b.ReportMetric(serial.Seconds()/base.Seconds(), "serial/gunzip|psql")
	b.ReportMetric(base.Seconds()/jobs.Seconds(), "jobs2-speedup")
	b.ReportMetric(float64(slices.Max(rss["pgrescue"]))/1024, "serial-MiB")
	b.ReportMetric(float64(slices.Max(rss["pgrescue --jobs 2"]))/1024, "jobs2-MiB")
	fmt.Printf("pg_dump import, %s of SQL, %d rounds: pgrescue %.2f× the time of gunzip|psql; --jobs 2 %.2f× faster than it; peak RSS %d / %d MiB\n",
		humanMB(sqlBytes), rounds, serial.Seconds()/base.Seconds(), base.Seconds()/jobs.Seconds(), slices.Max(rss["pgrescue"])/1024, slices.Max(rss["pgrescue --jobs 2"])/1024)
}

const benchDumpName = "daily/bench/bench_2026-11-25_03h00m.Wednesday.sql.gz"

// benchDumpTree makes a database of four tables shaped like an
// application's (a key, text, a number, a time, a hash), each with a
// secondary index, and dumps it as
// autopostgresqlbackup does: pg_dump --create | gzip. The tables are of
// one size: the case --jobs is for (one table of half the data bounds any
// parallel load by that table alone).
func benchDumpTree(b *testing.B, s *pgtest.Server, mb int) (string, int64) {
	s.PSQL(b, "postgres", "CREATE DATABASE bench")
	const rowBytes = 86 // about, in the dump's COPY text
	rows := int64(mb) << 20 / rowBytes
	for i, share := range []float64{0.25, 0.25, 0.25, 0.25} {
		n := int64(float64(rows) * share)
		t := "t" + strconv.Itoa(i)
		s.PSQL(b, "bench", fmt.Sprintf(`CREATE TABLE %[1]s (id bigint PRIMARY KEY, account text, amount numeric(12,2), at timestamptz, hash text);
			INSERT INTO %[1]s SELECT g, 'account-' || (g %% 100000), (g * 37 %% 100000) / 100.0,
				timestamptz '2026-11-25 00:00:00+00' + g * interval '1 second', md5(g::text) FROM generate_series(1, %[2]d) g;
			CREATE INDEX %[1]s_account ON %[1]s (account);`, t, n))
	}
	root := b.TempDir()
	path := filepath.Join(root, benchDumpName)
	os.MkdirAll(filepath.Dir(path), 0o755)
	cmd := exec.Command("sh", "-c", filepath.Join(s.Client, "pg_dump")+" --create bench | gzip > "+path)
	cmd.Env = append(os.Environ(), s.Env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("pg_dump | gzip: %v\n%s", err, out)
	}
	n, _ := strconv.ParseInt(s.PSQL(b, "bench", "SELECT sum(pg_column_size(t.*)) FROM (SELECT * FROM t0 UNION ALL SELECT * FROM t1 UNION ALL SELECT * FROM t2 UNION ALL SELECT * FROM t3) t"), 10, 64)
	out, err := exec.Command("sh", "-c", "gunzip -c "+path+" | wc -c").Output()
	if err == nil {
		n, _ = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	}
	return root, n
}

func dropBenchDatabases(b *testing.B, s *pgtest.Server) {
	for _, db := range s.Databases(b) {
		if db != "postgres" && !strings.HasPrefix(db, "template") {
			s.PSQL(b, "postgres", "DROP DATABASE "+strconv.Quote(db))
		}
	}
}

func fileSize(b *testing.B, root string) int64 {
	st, err := os.Stat(filepath.Join(root, benchDumpName))
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

func humanMB(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
