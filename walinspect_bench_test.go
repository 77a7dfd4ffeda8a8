package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// BenchmarkWALInspect measures what the "find the moment" issue promised:
// `pgrescue wal-inspect` over the WAL of a base backup's window (64
// segments, 1 GiB, by default; PGRESCUE_BENCH_SEGMENTS) against doing it
// by hand: `pgrescue wal-fetch` of every segment into a folder, then
// pg_waldump over the folder into /dev/null. The archive is the replay
// benchmark's (a real primary's WAL, each segment `lzop | gpg -e` in the
// in-process S3 server), with a DELETE near its end that wal-inspect must
// find. Memory: wal-inspect's peak RSS over a quarter of the window and
// over all of it, which must not grow with the window. The modes take
// turns, PGRESCUE_BENCH_RUNS rounds (default 3); the best of each counts.
//
//	make bench-inspect   (or go test -run '^$' -bench 'BenchmarkWALInspect$' -benchtime 1x .)
func BenchmarkWALInspect(b *testing.B) {
	for _, tool := range []string{"tar", "lzop", "gpg", "initdb", "pg_ctl", "/usr/bin/time"} {
		testtool.Need(b, tool)
	}
	waldump, err := walinspect.FindWaldump(b.Context(), recovery.Version{Major: 15}, "")
	if err != nil {
		testtool.Missing(b, "pg_waldump 15", err.Error())
	}
	segments, runs := benchSize()
	began := time.Now()
	work := benchSharedDir(b)
	pg := newBenchPostgres(b)
	primary := startBenchPrimary(b, pg, work)
	base := primary.offlineBackup(b)
	walBytes := primary.generate(b, base.redo, int64(segments)<<24*15/16)
	primary.psql(b, "DELETE FROM bench_rows WHERE id % 1000 = 7")
	deleted := primary.psql(b, "SELECT count(*) FROM bench_rows WHERE id % 1000 = 8") // as many as were deleted
	arch := archiveAndStop(b, pg, work, primary, base)
	names, quarterEnd := windowSegments(b, arch)
	fmt.Printf("\ninspect archive: backup %s, %d WAL segments in its window (%.0f MiB of WAL, stored as %.0f MiB: lzop | gpg -e); made in %s\n",
		base.name, len(names), mib(walBytes), mib(arch.storedBytes), time.Since(began).Round(time.Second))

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	flags := []string{"--envdir", arch.envdir, "--gpg-key", arch.keyFile}
	out := arch.pgrescue(b, "wal-inspect", "--backup", arch.backup, "--json")
	if !strings.Contains(out, `"deleted": `+deleted) && !strings.Contains(out, `"Deleted": `+deleted) {
		b.Fatalf("wal-inspect does not show the DELETE of %s rows:\n%.2000s", deleted, out)
	}

	handDir := filepath.Join(work, "by-hand")
	fetchScript := "set -e; mkdir -p " + handDir + "; for s in " + strings.Join(names, " ") + "; do " +
		binary + " " + strings.Join(flags, " ") + " wal-fetch $s " + handDir + "/$s; done"
	dumpScript := waldump + " --path " + handDir + " " + names[0] + " " + names[len(names)-1] + " > /dev/null"
	inspect := append(slices.Clone(flags), "wal-inspect", "--backup", arch.backup, "--json")
	quarter := append(slices.Clone(inspect), "--to", quarterEnd.UTC().Format("2006-01-02 15:04:05")+"+00")
	clean := func() { os.RemoveAll(handDir) }

	var fetchBest, dumpBest, inspectBest, quarterBest float64
	var inspectRSS, quarterRSS int64
	better := func(best *float64, secs float64) {
		if *best == 0 || secs < *best {
			*best = secs
		}
	}
	for round := 1; round <= runs; round++ {
		fetch, _ := timeOnce(b, env, "bash", "-c", fetchScript)
		dump, _ := timeOnce(b, env, "bash", "-c", dumpScript)
		clean()
		whole, rss := timeOnce(b, env, binary, inspect...)
		part, partRSS := timeOnce(b, env, binary, quarter...)
		fmt.Printf("  round %d: by hand %.2fs (wal-fetch %.2fs + pg_waldump %.2fs); wal-inspect %.2fs, %.1f MiB peak; a quarter of the window %.2fs, %.1f MiB peak\n",
			round, fetch+dump, fetch, dump, whole, float64(rss)/1024, part, float64(partRSS)/1024)
		better(&fetchBest, fetch)
		better(&dumpBest, dump)
		better(&inspectBest, whole)
		better(&quarterBest, part)
		inspectRSS, quarterRSS = max(inspectRSS, rss), max(quarterRSS, partRSS)
	}
	hand := fetchBest + dumpBest
	fmt.Printf("wal-inspect over %d segments (%.0f MiB): %.2fs, by hand %.2fs (wal-fetch each %.2fs + pg_waldump %.2fs): %.2fx; "+
		"peak RSS %.1f MiB for the window, %.1f MiB for a quarter of it (%.2fx); best of %d rounds each, benchmark took %s\n",
		len(names), mib(int64(len(names))<<24), inspectBest, hand, fetchBest, dumpBest, inspectBest/hand,
		float64(inspectRSS)/1024, float64(quarterRSS)/1024, float64(inspectRSS)/float64(quarterRSS), runs, time.Since(began).Round(time.Second))
	b.ReportMetric(float64(len(names)), "segments")
	b.ReportMetric(inspectBest, "inspect_s")
	b.ReportMetric(hand, "by_hand_s")
	b.ReportMetric(inspectBest/hand, "inspect_x_by_hand")
	b.ReportMetric(float64(inspectRSS)/1024, "inspect_rss_MiB")
	b.ReportMetric(float64(inspectRSS)/float64(quarterRSS), "rss_x_quarter")
}

// windowSegments lists the backup's window as wal-list shows it, and the
// upload time of the segment a quarter of the way through.
func windowSegments(b *testing.B, arch *benchArchive) ([]string, time.Time) {
	b.Helper()
	var listing struct {
		Objects []struct {
			Name         string    `json:"name"`
			Kind         string    `json:"kind"`
			LastModified time.Time `json:"last_modified"`
		} `json:"objects"`
	}
	out := arch.pgrescue(b, "wal-list", "--backup", arch.backup, "--json")
	if err := json.Unmarshal([]byte(out), &listing); err != nil {
		b.Fatalf("wal-list --json: %v\n%.500s", err, out)
	}
	start := strings.TrimPrefix(arch.backup, "base_")[:24]
	var names []string
	var times []time.Time
	for _, o := range listing.Objects {
		if o.Kind == "segment" && o.Name[8:] >= start[8:] {
			names = append(names, o.Name)
			times = append(times, o.LastModified)
		}
	}
	if len(names) != arch.segments {
		b.Fatalf("wal-list shows %d segments from %s, the archive has %d", len(names), start, arch.segments)
	}
	return names, times[len(times)/4]
}

// timeOnce runs a command once under GNU time (measure) and returns its
// wall time and peak RSS in KiB.
func timeOnce(b *testing.B, env []string, name string, args ...string) (float64, int64) {
	b.Helper()
	m, err := measure(env, name, args...)
	if err != nil {
		b.Fatal(err)
	}
	return m.secs, m.rssKiB
}
