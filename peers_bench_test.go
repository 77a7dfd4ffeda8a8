package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pgrescue/internal/testtool"
	"pgrescue/restore/wale"
)

// BenchmarkPeers is `make bench-peers`: pgrescue against what an engineer
// would use instead, on one archive, in one run. It builds a cluster of
// PGRESCUE_BENCH_PEERS_MB (default 1024) with the real PostgreSQL, takes an
// offline base backup, archives PGRESCUE_BENCH_SEGMENTS (default 64) WAL
// segments after it, and writes everything in WAL-E's format (tar | lzop |
// gpg -e, RSA 2048) to the in-process S3 server, once as one partition and
// once split in two. Then, PGRESCUE_BENCH_RUNS rounds (default 5) after a
// warm-up round, each contender once per round in an order rotated from
// round to round, it times:
//
//   - backup-fetch of the one-partition backup: pgrescue; the C pipeline
//     curl | gpg -d | lzop -d | tar -x then sync -f; WAL-G when `wal-g` is
//     on PATH; the write floor (the same files written from memory, one
//     write per file, one syncfs, as a restore writes them); the
//     decrypt+decode floor (gpg -d | lzop -d of the stored object from
//     memory into /dev/null);
//   - the same for the two-partition backup, two at a time;
//   - recovery of the segments: pgrescue replay against a cp
//     restore_command over the plain WAL (the floor).
//
// It prints the median of each and the median of the paired ratios
// (pgrescue's time over the other's in the same round), with peak RSS and
// where pgrescue's memory goes. It never passes or fails on a figure.
//
//	make bench-peers   (or go test -run '^$' -bench 'BenchmarkPeers$' -benchtime 1x .)
func BenchmarkPeers(b *testing.B) {
	for _, tool := range []string{"tar", "lzop", "gpg", "curl", "/usr/bin/time", "initdb", "pg_ctl"} {
		testtool.Need(b, tool)
	}
	sizeMB := envInt("PGRESCUE_BENCH_PEERS_MB", 1024)
	segments := envInt("PGRESCUE_BENCH_SEGMENTS", 64)
	runs := envInt("PGRESCUE_BENCH_RUNS", 5)
	began := time.Now()
	work := benchSharedDir(b)
	pg := newBenchPostgres(b)

	primary := startBenchPrimary(b, pg, work)
	base := primary.offlineBackupOfSize(b, int64(sizeMB)<<20)
	primary.generate(b, base.redo, int64(segments)<<24)
	rows := primary.rows(b)
	arch := archiveAndStop(b, pg, work, primary, base)
	conf := filepath.Join(work, "conf")
	plain := benchPipe(b, "lzop -dc", base.object)
	tree := readTarTree(b, plain)
	split := arch.splitCopy(b, pg, conf, plain, tree)
	fmt.Printf("\npeers archive: a %.0f MiB cluster (%d files) backed up offline as %s, stored %.0f MiB as one partition and as two; %d WAL segments after it; %d rows; made in %s\n",
		mib(tree.bytes), tree.files, base.name, mib(int64(len(arch.parts[0]))), arch.segments, rows, time.Since(began).Round(time.Second))
	printMachine(work)

	env := arch.fetchEnv(work)
	trash := newTrash(b, work)
	walg, _ := exec.LookPath("wal-g")
	var peers []peer
	for _, set := range []struct {
		label   string
		archive *benchArchive
		parts   int
	}{{"one partition", arch, 1}, {"two partitions", split, 2}} {
		target := filepath.Join(work, "restore")
		clean := func() { trash.take(target) }
		check := func() error { return tree.matches(target) }
		a := set.archive
		peers = append(peers,
			peer{group: set.label, name: "pgrescue backup-fetch", clean: clean, check: check, run: func() (measured, error) {
				return measure(env, binary, "--envdir", a.envdir, "--gpg-key", a.keyFile, "backup-fetch", "--pool-size", strconv.Itoa(set.parts), target, a.backup)
			}},
			peer{group: set.label, name: "curl | gpg -d | lzop -d | tar -x", clean: clean, check: check, run: func() (measured, error) {
				return measure(append(env, "GNUPGHOME="+a.gnupg), "bash", "-c", "mkdir -p "+target+"\n"+cPipelineScript(a.partitionsURL(), set.parts, target, set.parts))
			}},
			peer{group: set.label, name: "write floor", clean: clean, check: check, run: func() (measured, error) {
				return writeFloor(plain, target)
			}},
			peer{group: set.label, name: "decrypt+decode floor", run: func() (measured, error) {
				return decodeFloor(env, a, set.parts)
			}},
		)
		if walg != "" {
			peers = append(peers, peer{group: set.label, name: "WAL-G backup-fetch", clean: clean, check: check, run: func() (measured, error) {
				return measure(a.walgEnv(env, set.parts), walg, "backup-fetch", target, a.backup)
			}})
		}
	}
	peers = append(peers,
		peer{group: "recovery", name: "pgrescue replay", run: func() (measured, error) {
			return arch.timedReplay(b, work, trash, rows, func(pgdata string) replayRun { return arch.replay(b, pgdata, []string{}) })
		}},
		peer{group: "recovery", name: "cp restore_command floor", run: func() (measured, error) {
			return arch.timedReplay(b, work, trash, rows, func(pgdata string) replayRun { return replayWithCp(b, pgdata, primary.archiveDir) })
		}},
	)

	times := runPeers(b, peers, runs, trash)
	printPeers(peers, times, tree.bytes, runs)
	if walg == "" {
		fmt.Println("WAL-G: no `wal-g` on PATH, not compared")
	}
	printMemory(b, env, arch, split, work)
	fmt.Printf("benchmark took %s\n", time.Since(began).Round(time.Second))
}

// peer is one contender: what it runs, what to remove after it and how to
// check it restored everything.
type peer struct {
	group, name string
	run         func() (measured, error)
	clean       func()
	check       func() error
}

// runPeers runs every peer once per round, rotating the order so that no
// peer always follows the same one (a page cache full of another's writes,
// a disk still flushing), and returns each one's runs. The trees restored
// in a round are deleted before the next one. A first round, not counted,
// warms up: in three runs of the benchmark the first round's first
// contenders took up to three times as long as in any later round,
// pgrescue and the C pipeline alike.
func runPeers(b *testing.B, peers []peer, runs int, trash *trash) [][]measured {
	times := make([][]measured, len(peers))
	for round := -1; round < runs; round++ {
		trash.empty()
		for k := range peers {
			i := (k + max(round, 0)) % len(peers)
			p := peers[i]
			m, err := p.run()
			if err == nil && p.check != nil {
				err = p.check()
			}
			if p.clean != nil {
				p.clean()
			}
			if err != nil {
				b.Fatalf("%s, %s: %v", p.group, p.name, err)
			}
			label := fmt.Sprintf("round %d", round+1)
			if round < 0 {
				label = "warm-up"
			} else {
				times[i] = append(times[i], m)
			}
			fmt.Printf("  %-8s %-15s %-34s %7.2fs\n", label, p.group, p.name, m.secs)
		}
	}
	return times
}

// printPeers prints each group's medians and pgrescue's paired ratios: its
// time over the other's, round by round, and the median of those.
func printPeers(peers []peer, times [][]measured, bytes int64, runs int) {
	fmt.Printf("\nmedian of %d rounds; \"pgrescue ÷\" is the median of the rounds' paired ratios (below 1: pgrescue is faster)\n", runs)
	fmt.Printf("%-15s %-34s %9s %9s %11s %12s\n", "", "", "seconds", "MB/s", "pgrescue ÷", "peak RSS")
	for i, p := range peers {
		ours := slices.IndexFunc(peers, func(q peer) bool { return q.group == p.group && strings.HasPrefix(q.name, "pgrescue") })
		ratios := make([]float64, runs)
		for r := range runs {
			ratios[r] = times[ours][r].secs / times[i][r].secs
		}
		secs := median(seconds(times[i]))
		rate, rss := "", ""
		if p.group != "recovery" {
			rate = fmt.Sprintf("%.0f", float64(bytes)/1e6/secs)
		}
		if peak := slices.MaxFunc(times[i], func(x, y measured) int { return int(x.rssKiB - y.rssKiB) }).rssKiB; peak > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(peak)/1024)
		}
		ratio := fmt.Sprintf("%.2f", median(ratios))
		if i == ours {
			ratio = ""
		}
		fmt.Printf("%-15s %-34s %9.2f %9s %11s %12s\n", p.group, p.name, secs, rate, ratio, rss)
	}
	for _, group := range []string{"one partition", "two partitions"} {
		fmt.Printf("%s: pgrescue ÷ the larger of the write floor and the decrypt+decode floor, round by round: %.2f (target: 1.10 at most)\n",
			group, floorRatio(peers, times, group, runs))
	}
}

// floorRatio is the median over rounds of pgrescue's time over the larger
// of the two floors in the same round: what a restore cannot beat, whether
// the disk or the decoding bounds it.
func floorRatio(peers []peer, times [][]measured, group string, runs int) float64 {
	find := func(name string) []measured {
		return times[slices.IndexFunc(peers, func(p peer) bool { return p.group == group && p.name == name })]
	}
	ours, write, decode := find("pgrescue backup-fetch"), find("write floor"), find("decrypt+decode floor")
	ratios := make([]float64, runs)
	for r := range runs {
		ratios[r] = ours[r].secs / max(write[r].secs, decode[r].secs)
	}
	return median(ratios)
}

func seconds(ms []measured) []float64 {
	out := make([]float64, len(ms))
	for i, m := range ms {
		out[i] = m.secs
	}
	return out
}

// median of the runs of a benchmark (the mean of the middle two when even).
func median[T ~int64 | ~float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// printMachine says what the figures were measured on.
func printMachine(work string) {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindSubmatch(raw); m != nil {
			model = string(m[1])
		}
	}
	var mem unix.Sysinfo_t
	unix.Sysinfo(&mem)
	var uts unix.Utsname
	unix.Uname(&uts)
	fsType, _ := exec.Command("stat", "-f", "-c", "%T", work).Output()
	if _, noJournal := ext4WithoutJournal(work); noJournal {
		fsType = []byte("ext4 without a journal") // stat says ext2/ext3 for every ext
	}
	fmt.Printf("machine: %s, %d cores, %.0f GiB RAM, Linux %s, %s file system at %s, %s\n", model, runtime.NumCPU(),
		float64(mem.Totalram)*float64(mem.Unit)/(1<<30), unix.ByteSliceToString(uts.Release[:]), strings.TrimSpace(string(fsType)), work, runtime.Version())
}

// measured is one timed run of a command: wall time, and the peak RSS of
// its largest process (KiB) when GNU time measured it.
type measured struct {
	secs   float64
	rssKiB int64
	stderr string
}

// measure runs a command under GNU time. Go starts children with vfork, so
// their own ru_maxrss would include the benchmark's memory; time's children
// are forked from a small process.
func measure(env []string, name string, args ...string) (measured, error) {
	rssFile, err := os.CreateTemp("", "pgrescue-rss-")
	if err != nil {
		return measured{}, err
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile.Name(), name}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err = cmd.Run()
	m := measured{secs: time.Since(start).Seconds(), stderr: stderr.String()}
	if err != nil {
		return m, fmt.Errorf("%s %s: %v\n%.3000s", name, strings.Join(args, " "), err, m.stderr)
	}
	raw, _ := os.ReadFile(rssFile.Name())
	m.rssKiB, _ = strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return m, nil
}

// tarTree is what a backup's tar holds: every regular file's size by path.
type tarTree struct {
	sizes map[string]int64
	files int
	bytes int64
}

func readTarTree(b *testing.B, plain []byte) *tarTree {
	t := &tarTree{sizes: map[string]int64{}}
	eachMember(b, plain, func(h *tar.Header, _ io.Reader) {
		if h.Typeflag == tar.TypeReg {
			t.sizes[filepath.Clean(h.Name)] = h.Size
			t.files++
			t.bytes += h.Size
		}
	})
	return t
}

// eachMember calls do for each member of a tar held in memory.
func eachMember(b *testing.B, plain []byte, do func(h *tar.Header, contents io.Reader)) {
	tr := tar.NewReader(bytes.NewReader(plain))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		do(h, tr)
	}
}

// matches checks that dir holds every file of the tree with its size:
// a contender that stopped early must not be timed as a fast one.
func (t *tarTree) matches(dir string) error {
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		want, ok := t.sizes[rel]
		if !ok {
			return nil // recovery settings and the like
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() != want {
			return fmt.Errorf("%s has %d bytes, the backup %d", rel, info.Size(), want)
		}
		seen++
		return nil
	})
	if err == nil && seen != t.files {
		err = fmt.Errorf("%d of the backup's %d files restored in %s", seen, t.files, dir)
	}
	return err
}

// splitCopy stores the same backup as two partitions of about equal size
// under another prefix of the same bucket, with its own envdir.
func (a *benchArchive) splitCopy(b *testing.B, pg benchPostgres, conf string, plain []byte, tree *tarTree) *benchArchive {
	halves := splitTar(b, plain, tree.bytes/2)
	c := *a
	c.envdir = filepath.Join(conf, "split.d")
	pg.mkdir(b, c.envdir, 0o750)
	entries, err := os.ReadDir(a.envdir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		value, _ := os.ReadFile(filepath.Join(a.envdir, e.Name()))
		if e.Name() == "WALE_S3_PREFIX" {
			value = []byte("s3://bench/split\n")
		}
		path := filepath.Join(c.envdir, e.Name())
		os.WriteFile(path, value, 0o640)
		pg.chown(b, path)
	}
	c.prefix = "split"
	base := c.prefix + "/basebackups_005/" + a.backup
	c.parts = nil
	for i, half := range halves {
		obj := benchPipe(b, "lzop -c | "+a.encrypt, half)
		c.parts = append(c.parts, obj)
		a.srv.Put(b, "bench", fmt.Sprintf("%s/tar_partitions/part_%08d.tar.lzo", base, i), obj, "application/octet-stream", time.Now())
	}
	a.srv.Put(b, "bench", base+"_backup_stop_sentinel.json", a.sentinel, "application/json", time.Now())
	return &c
}

// splitTar cuts a tar into two tars, the first ending at the first member
// after half bytes of file data, as WAL-E's partitioning cuts by size.
func splitTar(b *testing.B, plain []byte, half int64) [][]byte {
	var outs [2]bytes.Buffer
	writers := [2]*tar.Writer{tar.NewWriter(&outs[0]), tar.NewWriter(&outs[1])}
	var written int64
	eachMember(b, plain, func(h *tar.Header, contents io.Reader) {
		w := writers[0]
		if written >= half {
			w = writers[1]
		}
		if err := w.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(w, contents)
		if err != nil {
			b.Fatal(err)
		}
		written += n
	})
	for _, w := range writers {
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return [][]byte{outs[0].Bytes(), outs[1].Bytes()}
}

// fetchEnv is the environment every contender starts with.
func (a *benchArchive) fetchEnv(work string) []string {
	opts := a.srv.Options()
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "AWS_REGION=" + opts.Region,
		"AWS_ACCESS_KEY_ID=" + opts.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + opts.SecretAccessKey}
}

// partitionsURL is where the C pipeline's curl finds the partitions.
func (a *benchArchive) partitionsURL() string {
	return a.srv.URL + "/bench/" + a.prefix + "/basebackups_005/" + a.backup + "/tar_partitions"
}

// walgEnv points WAL-G at the same archive and key (WAL-G reads WAL-E's
// archives: its lzo decoder and OpenPGP).
func (a *benchArchive) walgEnv(env []string, parts int) []string {
	return append(slices.Clone(env), "WALG_S3_PREFIX=s3://bench/"+a.prefix, "AWS_ENDPOINT="+a.srv.URL, "AWS_S3_FORCE_PATH_STYLE=true",
		"WALG_PGP_KEY_PATH="+a.keyFile, "WALG_DOWNLOAD_CONCURRENCY="+strconv.Itoa(parts))
}

// writeFloor writes the backup's files from memory as a restore does (each
// file created, written, closed; directories made on the way; one syncfs
// at the end): no restore that writes these files can be faster.
func writeFloor(plain []byte, target string) (measured, error) {
	start := time.Now()
	tr := tar.NewReader(bytes.NewReader(plain))
	buf := make([]byte, 1<<20)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return measured{}, err
		}
		path := filepath.Join(target, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o700)
		case tar.TypeReg:
			err = writeFloorFile(path, tr, buf)
		}
		if err != nil {
			return measured{}, err
		}
	}
	f, err := os.Open(target)
	if err != nil {
		return measured{}, err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return measured{}, err
	}
	return measured{secs: time.Since(start).Seconds()}, nil
}

func writeFloorFile(path string, r io.Reader, buf []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(f, r, buf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// decodeFloor decrypts and decodes the stored partitions with gpg and lzop
// from files in the page cache into /dev/null, as many at a time as there
// are partitions: the work of a restore without the network or the disk.
func decodeFloor(env []string, a *benchArchive, parts int) (measured, error) {
	var script strings.Builder
	script.WriteString("set -eo pipefail\n")
	for i := range parts {
		fmt.Fprintf(&script, "( gpg -d -q --batch < %s | lzop -dc > /dev/null ) &\n", a.storedPartition(i))
	}
	script.WriteString("wait\n")
	return measure(append(env, "GNUPGHOME="+a.gnupg), "bash", "-c", script.String())
}

// storedPartition is partition i as stored, in a file beside the key.
func (a *benchArchive) storedPartition(i int) string {
	path := filepath.Join(filepath.Dir(a.keyFile), fmt.Sprintf("%s-part-%d.lzo.gpg", a.prefix, i))
	if _, err := os.Stat(path); err != nil {
		os.WriteFile(path, a.parts[i], 0o600)
	}
	return path
}

// timedReplay restores the backup (not timed), then times one recovery to
// the end of the archive, which must reach the primary's rows.
func (a *benchArchive) timedReplay(b *testing.B, work string, trash *trash, rows int, replay func(pgdata string) replayRun) (measured, error) {
	pgdata := filepath.Join(work, "recovery")
	a.fetchBackup(b, pgdata)
	defer func() {
		trash.take(pgdata)
		os.Remove(pgdata + ".pgrescue.log")
	}()
	r := replay(pgdata)
	if r.rows != rows {
		return measured{}, fmt.Errorf("%d rows after recovery, the primary had %d", r.rows, rows)
	}
	if got := restoredSegments(b, pgdata+".pgrescue.log"); got != a.segments {
		return measured{}, fmt.Errorf("PostgreSQL restored %d segments, the archive has %d", got, a.segments)
	}
	return measured{secs: r.wall.Seconds()}, nil
}

var gcTraceLine = regexp.MustCompile(`gc \d+ @[^:]+: .* (\d+)->(\d+)->(\d+) MB`)

// printMemory measures pgrescue backup-fetch's memory with one and two
// workers, and says where it goes: the binary and runtime alone, the
// largest live heap the garbage collector found, and the buffers a worker
// is designed to hold.
func printMemory(b *testing.B, env []string, one, split *benchArchive, work string) {
	version, err := measure(env, binary, "--version")
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("\nmemory (peak RSS by GNU time; heap from GODEBUG=gctrace=1):\n")
	fmt.Printf("  pgrescue --version alone (binary and runtime): %.1f MiB\n", float64(version.rssKiB)/1024)
	var prev measured
	var prevLive int
	for workers := 1; workers <= 2; workers++ {
		target := filepath.Join(work, "memory")
		m, err := measure(append(env, "GODEBUG=gctrace=1"), binary, "--envdir", split.envdir, "--gpg-key", split.keyFile,
			"backup-fetch", "--pool-size", strconv.Itoa(workers), target, split.backup)
		os.RemoveAll(target)
		if err != nil {
			b.Fatal(err)
		}
		live, goal := 0, 0
		for _, g := range gcTraceLine.FindAllStringSubmatch(m.stderr, -1) {
			l, _ := strconv.Atoi(g[3])
			h, _ := strconv.Atoi(g[1])
			live, goal = max(live, l), max(goal, h)
		}
		fmt.Printf("  backup-fetch, %d worker(s): peak RSS %.1f MiB; largest live heap %d MB, largest heap at a collection %d MB",
			workers, float64(m.rssKiB)/1024, live, goal)
		if workers > 1 {
			fmt.Printf("; the second worker costs %+.1f MiB RSS, %+d MB live heap", float64(m.rssKiB-prev.rssKiB)/1024, live-prevLive)
		}
		fmt.Println()
		prev, prevLive = m, live
	}
	for workers := 1; workers <= 2; workers++ {
		fmt.Printf("  buffers each worker holds by design, with %d worker(s):\n", workers)
		for _, buf := range wale.PartitionBuffers(workers) {
			fmt.Printf("    %-56s %6.0f KiB\n", buf.Name, float64(buf.Bytes)/1024)
		}
	}
}

// trash keeps the trees a round restored until the round is over. On ext4
// without a journal (this VM's root file system), creating a file skips,
// one by one, every inode freed in the last minute (the kernel's
// recently_deleted): a contender that ran just after another's tree was
// deleted paid for that deletion, up to a tenth of its CPU time, and the
// decrypt+decode floor, which writes no files, never did. So the trees are
// moved aside during a round, deleted between rounds, and on such a file
// system the next round waits out that minute. A round keeps up to one
// tree per contender that writes one on disk (about 10 GB for a 1 GB
// cluster), but not in memory: a tree's pages leave the page cache when it
// is taken, as they would have had it been deleted, or the next contenders
// would pay for reclaiming them.
type trash struct {
	dir   string
	taken int
	wait  time.Duration // after emptying: 0 where freed inodes are reused at once
}

func newTrash(b *testing.B, work string) *trash {
	t := &trash{dir: filepath.Join(work, "trash")}
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		b.Fatal(err)
	}
	if dev, ok := ext4WithoutJournal(work); ok {
		t.wait = 61 * time.Second
		fmt.Printf("%s is ext4 without a journal: each round starts a minute after the last one's trees were deleted\n", dev)
	}
	return t
}

// take moves path into the trash, if it exists, and drops its files from
// the page cache.
func (t *trash) take(path string) {
	if _, err := os.Lstat(path); err != nil {
		return
	}
	forget(path)
	t.taken++
	if err := os.Rename(path, filepath.Join(t.dir, strconv.Itoa(t.taken))); err != nil {
		os.RemoveAll(path)
	}
}

// empty deletes what was taken, then waits until the freed inodes no
// longer slow down the creation of files.
func (t *trash) empty() {
	entries, _ := os.ReadDir(t.dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(t.dir, e.Name()))
	}
	if t.wait > 0 {
		unix.Sync() // the minute becomes six while the inode table is not written out
		time.Sleep(t.wait)
	}
}

// forget drops a tree's files from the page cache. Pages still dirty stay
// (every contender syncs what it wrote, PostgreSQL's recovery included).
func forget(tree string) {
	filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if f, err := os.Open(path); err == nil {
			unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
			f.Close()
		}
		return nil
	})
}

// ext4WithoutJournal reports whether path is on an ext4 file system with
// no journal, and the device's name: ext4 lists its file systems in
// /proc/fs/ext4, and jbd2 their journals in /proc/fs/jbd2.
func ext4WithoutJournal(path string) (string, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", false
	}
	uevent, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/uevent", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil {
		return "", false
	}
	var dev string
	for _, line := range strings.Split(string(uevent), "\n") {
		if name, ok := strings.CutPrefix(line, "DEVNAME="); ok {
			dev = name
		}
	}
	if _, err := os.Stat(filepath.Join("/proc/fs/ext4", dev)); dev == "" || err != nil {
		return "", false
	}
	journals, _ := filepath.Glob(filepath.Join("/proc/fs/jbd2", dev+"-*"))
	return dev, len(journals) == 0
}
