package wale

import (
	"fmt"
	"time"
)

// Event is a typed progress report from a long job. UIs switch on the type.
type Event interface{ event() }

// BackupChosen: the backup to restore was resolved (LATEST or by name) and its sentinel read.
type BackupChosen struct{ Backup Backup }

// MovedAside: the old data directory was renamed, not deleted.
type MovedAside struct{ From, To string }

// FetchStarted: partitions are about to be fetched.
type FetchStarted struct {
	Backup          string
	Partitions      int
	CompressedBytes int64 // total stored size of the partitions
	ExpandedBytes   int64 // the sentinel's expanded_size_bytes
	Workers         int
}

// PartitionStarted and PartitionDone bracket one partition.
type PartitionStarted struct {
	Key   string
	Index int
	Size  int64
}

// PartitionDone: a partition is fully extracted.
type PartitionDone struct {
	Key      string
	Index    int
	Duration time.Duration
}

// FetchProgress is sent twice a second while fetching.
type FetchProgress struct {
	Downloaded, CompressedTotal int64
	Extracted, ExpandedTotal    int64
	PartitionsDone, Partitions  int
	Elapsed                     time.Duration
	Rate                        float64       // extracted bytes per second
	ETA                         time.Duration // 0 when unknown
	Retrying                    string        // "retrying (attempt 2 of 5): …" while a download waits to resume
}

// Warning: something handled specially that the engineer should know.
type Warning struct{ Message string }

func (BackupChosen) event()     {}
func (MovedAside) event()       {}
func (FetchStarted) event()     {}
func (PartitionStarted) event() {}
func (PartitionDone) event()    {}
func (FetchProgress) event()    {}
func (Warning) event()          {}

func newFetchProgress(downloaded, compressed, extracted, expanded int64, done, parts int, elapsed time.Duration) FetchProgress {
	p := FetchProgress{Downloaded: downloaded, CompressedTotal: compressed, Extracted: extracted, ExpandedTotal: expanded,
		PartitionsDone: done, Partitions: parts, Elapsed: elapsed}
	if secs := elapsed.Seconds(); secs > 0 {
		p.Rate = float64(extracted) / secs
	}
	// The ETA follows the download share: expanded sizes are padded estimates,
	// stored sizes are exact.
	if compressed > 0 && downloaded > 0 && downloaded < compressed {
		p.ETA = time.Duration(float64(elapsed) * float64(compressed-downloaded) / float64(downloaded))
	}
	return p
}

// String renders a progress line for logs and plain terminals.
func (p FetchProgress) String() string {
	pct := 0.0
	if p.CompressedTotal > 0 {
		pct = 100 * float64(p.Downloaded) / float64(p.CompressedTotal)
	}
	eta := "--"
	if p.ETA > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	line := fmt.Sprintf("%5.1f%%  %s of %s downloaded, %s extracted, %s/s, partitions %d/%d, elapsed %s, ETA %s",
		pct, HumanBytes(p.Downloaded), HumanBytes(p.CompressedTotal), HumanBytes(p.Extracted), HumanBytes(int64(p.Rate)),
		p.PartitionsDone, p.Partitions, p.Elapsed.Round(time.Second), eta)
	if p.Retrying != "" {
		line += "; " + p.Retrying
	}
	return line
}

// HumanBytes renders a size in binary units.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
