package pglog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// largestFixture is the name of the biggest log in testdata, by bytes.
func largestFixture(b *testing.B) string {
	var name string
	var size int64
	for _, n := range fixtureNames(b) {
		if s := SizeOf(filepath.Join("testdata", n)); s > size {
			name, size = n, s
		}
	}
	return name
}

// BenchmarkParse feeds the largest fixture (the WAL-E PG15 restore, server
// lines interleaved with WAL-E's stderr) through a new Parser per round.
func BenchmarkParse(b *testing.B) {
	name := largestFixture(b)
	lines := readLines(b, name)
	b.SetBytes(SizeOf(filepath.Join("testdata", name)))
	b.ReportAllocs()
	rounds := 0
	for b.Loop() {
		p := NewParser()
		for _, l := range lines {
			p.Feed(l)
		}
		rounds++
	}
	b.ReportMetric(float64(rounds*len(lines))/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkFollow measures how fast a Follower reads a log that is already
// written: 100,000 replay-progress lines per round, from offset 0.
func BenchmarkFollow(b *testing.B) {
	const lines = 100_000
	path := filepath.Join(b.TempDir(), "server.log")
	var buf []byte
	for i := range lines {
		buf = fmt.Appendf(buf, "2026-11-25 02:39:04.402 UTC [29263] LOG:  redo in progress, elapsed time: 0.12 s, current LSN: 0/%X\n", i)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	rounds := 0
	for b.Loop() {
		followToCount(b, path, lines)
		rounds++
	}
	b.ReportMetric(float64(rounds*lines)/b.Elapsed().Seconds(), "lines/s")
}

// followToCount runs a follower over path until it has emitted want lines.
func followToCount(b *testing.B, path string, want int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := 0
	done := make(chan error, 1)
	go func() {
		done <- NewFollower(FollowOptions{Path: path, PollInterval: time.Millisecond}).Run(ctx, func(FollowedLine) {
			got++
			if got == want {
				cancel()
			}
		})
	}()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if got != want {
		b.Fatalf("followed %d lines, want %d", got, want)
	}
}
