package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
)

// BenchmarkFetchVersusCPipeline builds a WAL-E archive of a ~1 GiB data
// directory with the real tools (tar | lzop | gpg -e, as WAL-E's pipeline),
// serves it from the in-process S3 server, and times in one run:
// pgrescue backup-fetch with 1 and 2 workers, and the C pipeline
// curl | gpg -d | lzop -d | tar -x on the same objects, one partition at a
// time and two at a time. Every run ends with the data flushed to disk
// (pgrescue syncs; the C runs get `sync -f`). Size: PGRESCUE_BENCH_MB.
//
//	make bench   (or go test -run '^$' -bench FetchVersusCPipeline -benchtime 1x .)
func BenchmarkFetchVersusCPipeline(b *testing.B) {
	for _, tool := range []string{"tar", "lzop", "gpg", "curl", "time"} {
		testtool.Need(b, tool)
	}
	sizeMB := 1024
	if v, err := strconv.Atoi(os.Getenv("PGRESCUE_BENCH_MB")); err == nil && v > 0 {
		sizeMB = v
	}
	work := b.TempDir()
	dataDir := filepath.Join(work, "source")
	files := makeDataDir(b, dataDir, int64(sizeMB)<<20)
	gnupg, keyFile := benchKey(b, work)
	// WAL-E caps partitions at 1.5 GiB; smaller ones here let a 1 GiB
	// archive show what a second worker buys on a real, much larger cluster.
	parts := partition(files, 256<<20)
	srv := s3test.Start(b)
	srv.CreateBucket(b, "bench")
	var stored int64
	for i, p := range parts {
		obj := archivePartition(b, dataDir, p, gnupg)
		stored += int64(len(obj))
		srv.Put(b, "bench", fmt.Sprintf("p/basebackups_005/base_000000010000000000000002_00000040/tar_partitions/part_%08d.tar.lzo", i), obj, "", time.Now())
	}
	expanded := totalSize(files)
	sentinel := fmt.Sprintf(`{"wal_segment_backup_stop": "000000010000000000000002", "wal_segment_offset_backup_stop": "00000256", "expanded_size_bytes": %d, "spec": {"base_prefix": "/var/lib/postgresql/15/main/", "tablespaces": []}}`, expanded)
	srv.Put(b, "bench", "p/basebackups_005/base_000000010000000000000002_00000040_backup_stop_sentinel.json", []byte(sentinel), "application/json", time.Now())
	fmt.Printf("\narchive: %d partitions, %.0f MiB expanded, %.0f MiB stored (tar | lzop | gpg -e, RSA 2048)\n", len(parts), mib(expanded), mib(stored))

	opts := srv.Options()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "WALE_S3_PREFIX=s3://bench/p", "WALE_S3_ENDPOINT=" + opts.Endpoint,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + opts.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + opts.SecretAccessKey}
	type row struct {
		name string
		secs float64
		rss  int64
	}
	var rows []row
	for _, workers := range []int{1, 2} {
		target := filepath.Join(work, fmt.Sprintf("restore-%d", workers))
		secs, rss := timeCommand(b, env, func() { os.RemoveAll(target) }, binary, "--gpg-key", keyFile, "backup-fetch", "--pool-size", strconv.Itoa(workers), target, "LATEST")
		rows = append(rows, row{fmt.Sprintf("pgrescue backup-fetch, %d worker(s)", workers), secs, rss})
	}
	for _, parallel := range []int{1, 2} {
		target := filepath.Join(work, fmt.Sprintf("c-%d", parallel))
		script := "mkdir -p " + target + "\n" + cPipelineScript(srv.URL+"/bench/p/basebackups_005/base_000000010000000000000002_00000040/tar_partitions", len(parts), target, parallel)
		secs, rss := timeCommand(b, append(env, "GNUPGHOME="+gnupg), func() { os.RemoveAll(target) }, "bash", "-c", script)
		rows = append(rows, row{fmt.Sprintf("curl | gpg -d | lzop -d | tar -x, %d at a time", parallel), secs, rss})
	}
	base := rows[2].secs
	fmt.Printf("%-45s %10s %10s %12s\n", "", "MB/s", "vs C (1)", "peak RSS")
	for _, r := range rows {
		rate := float64(expanded) / 1e6 / r.secs
		fmt.Printf("%-45s %10.1f %9.2fx %9.1f MiB\n", r.name, rate, base/r.secs, float64(r.rss)/1024)
		b.ReportMetric(rate, strings.NewReplacer(" ", "_", ",", "", "|", "", "(", "", ")", "").Replace(r.name)+"_MB/s")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// timeCommand runs a command twice and returns the better wall time and the
// larger peak RSS (KiB), cleaning up after each run.
func timeCommand(b *testing.B, env []string, cleanup func(), name string, args ...string) (float64, int64) {
	b.Helper()
	best, peak := 0.0, int64(0)
	for run := 0; run < 2; run++ {
		secs, rss := timeOnce(b, env, name, args...)
		if best == 0 || secs < best {
			best = secs
		}
		peak = max(peak, rss)
		cleanup()
	}
	return best, peak
}

func cPipelineScript(baseURL string, parts int, target string, parallel int) string {
	var s strings.Builder
	s.WriteString("set -eo pipefail\n")
	for i := 0; i < parts; i++ {
		fmt.Fprintf(&s, "( curl -sf %s/part_%08d.tar.lzo | gpg -d -q --batch | lzop -d -c | tar -x -C %s ) &\n", baseURL, i, target)
		if (i+1)%parallel == 0 {
			s.WriteString("wait\n")
		}
	}
	fmt.Fprintf(&s, "wait\nsync -f %s\n", target)
	return s.String()
}

type benchFile struct {
	rel  string
	size int64
}

// makeDataDir writes files shaped like a PostgreSQL data directory: relation
// files of 8 KiB pages holding rows of text and numbers (compresses about as
// well as real heap pages), up to 1 GiB per file as PostgreSQL segments them.
func makeDataDir(b *testing.B, dir string, total int64) []benchFile {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var files []benchFile
	page := make([]byte, 8192)
	const fileSize = 64 << 20
	for n := 0; int64(n)*fileSize < total; n++ {
		rel := filepath.Join("base", "16384", strconv.Itoa(16400+n))
		os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o700)
		f, err := os.Create(filepath.Join(dir, rel))
		if err != nil {
			b.Fatal(err)
		}
		for written := 0; written < fileSize; written += len(page) {
			fillPage(page, rng)
			f.Write(page)
		}
		f.Close()
		files = append(files, benchFile{rel, fileSize})
	}
	os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("15\n"), 0o600)
	files = append(files, benchFile{"PG_VERSION", 3})
	return files
}

func fillPage(page []byte, rng *rand.Rand) {
	clear(page[:24])
	off := 24
	for off+96 <= len(page) {
		id := rng.Uint64N(1 << 40)
		row := fmt.Sprintf("%012d|user-%08d|%s|status=active|%x", id, id%100000000, "2026-11-25 02:52:52", rng.Uint64())
		off += copy(page[off:off+96], row)
		for off%96 != 24%96 && off < len(page) {
			page[off] = 0
			off++
		}
	}
}

func totalSize(files []benchFile) int64 {
	var n int64
	for _, f := range files {
		n += f.size
	}
	return n
}

func partition(files []benchFile, max int64) [][]benchFile {
	var parts [][]benchFile
	var cur []benchFile
	var size int64
	for _, f := range files {
		if size+f.size > max && len(cur) > 0 {
			parts, cur, size = append(parts, cur), nil, 0
		}
		cur, size = append(cur, f), size+f.size
	}
	return append(parts, cur)
}

// benchKey makes an unprotected RSA 2048 key (as WAL-E needs) and exports
// its secret part for pgrescue.
func benchKey(b *testing.B, work string) (gnupg, keyFile string) {
	gnupg, _ = os.MkdirTemp("", "gb")
	b.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", gnupg, "--kill", "gpg-agent").Run()
		os.RemoveAll(gnupg)
	})
	gpg := func(args ...string) []byte {
		out, err := exec.Command("gpg", append([]string{"--homedir", gnupg, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...).Output()
		if err != nil {
			b.Fatalf("gpg %v: %v", args, err)
		}
		return out
	}
	gpg("--quick-gen-key", "bench@example.com", "rsa2048", "sign", "never")
	fpr := ""
	for _, line := range strings.Split(string(gpg("--with-colons", "--list-keys", "bench@example.com")), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && fpr == "" {
			fpr = f[9]
		}
	}
	gpg("--quick-add-key", fpr, "rsa2048", "encr", "never") // WAL-E's archives go to an RSA encryption subkey
	keyFile = filepath.Join(work, "bench-key.asc")
	os.WriteFile(keyFile, gpg("--armor", "--export-secret-keys", "bench@example.com"), 0o600)
	return gnupg, keyFile
}

func archivePartition(b *testing.B, dir string, files []benchFile, gnupg string) []byte {
	var names []string
	for _, f := range files {
		names = append(names, f.rel)
	}
	script := fmt.Sprintf("set -o pipefail; tar -c -C %s %s | lzop -c | gpg --homedir %s --batch --trust-model always -e -z 0 -r bench@example.com",
		dir, strings.Join(names, " "), gnupg)
	out, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		b.Fatalf("archiving: %v", err)
	}
	return out
}
