package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
)

// Verdict says whether a restore achieved the scenario's goal.
type Verdict struct {
	OK      bool
	Rows    int    // what the restored database holds
	Message string // both numbers and what they mean
}

// checkSQL counts the documents and, to tell a target that was too late
// from one that was too early, the news stories the accident deleted (those
// up to the last id written before it) and the documents written after it.
const checkSQL = "SELECT count(*), count(*) FILTER (WHERE document_type = 'news_story' AND id <= %[1]d), " +
	"count(*) FILTER (WHERE id > %[1]d) FROM documents"

// restoredCounts is what checkSQL finds.
type restoredCounts struct {
	rows    int // every document
	deleted int // the accident's documents that are there
	later   int // documents written after the accident that are there
}

// Check queries a restored server where the replay summary says it runs
// (psql -h socketDir -p port -U user) and judges the restore: for
// "accident" it must hold the rows of just before the DELETE, for
// "disk-lost" every row of the archive. psql runs as the OS user of the
// same name when pgrescue is root, as the restored pg_hba.conf allows only
// peer connections of the data directory's owner.
func (s *Sandbox) Check(ctx context.Context, socketDir string, port int, user string) (Verdict, error) {
	if s.Scenario.Name == nightlyDumpScenario {
		return s.checkNightly(ctx, socketDir, port, user)
	}
	c, err := s.countRestored(ctx, socketDir, port, user)
	if err != nil {
		return Verdict{}, err
	}
	if s.Scenario.Name == diskLostScenario {
		return s.judgeDiskLost(c.rows), nil
	}
	return s.judgeAccident(c), nil
}

func (s *Sandbox) countRestored(ctx context.Context, socketDir string, port int, user string) (restoredCounts, error) {
	owner, err := psqlOwner(user)
	if err != nil {
		return restoredCounts{}, err
	}
	psql := "psql"
	if s.bins.Dir != "" {
		psql = s.bins.path("psql")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := runOwner(ctx, owner, s.bins.Dir, nil, psql, "-X", "-A", "-t", "-q", "-h", socketDir, "-p", strconv.Itoa(port),
		"-U", user, "-d", s.Database, "-c", fmt.Sprintf(checkSQL, s.lastIDBefore))
	subject := fmt.Sprintf("%s on psql -h %s -p %d -U %s", s.Database, socketDir, port, user)
	if err != nil {
		return restoredCounts{}, problem.Wrap(err, problem.Unknown, subject, "cannot count the restored database's documents",
			"check the restored server is running and accepts connections: psql -h "+socketDir+" -p "+strconv.Itoa(port)+" -U "+user+" -d "+s.Database)
	}
	var n [3]int
	fields := strings.Split(strings.TrimSpace(out), "|")
	for i := range n {
		if len(fields) != len(n) {
			err = errors.New("not three numbers")
			break
		}
		if n[i], err = strconv.Atoi(fields[i]); err != nil {
			break
		}
	}
	if err != nil {
		return restoredCounts{}, problem.Wrap(err, problem.Unknown, subject, "unexpected output from psql: "+strings.TrimSpace(out),
			"count the documents yourself: "+s.Expected.Query)
	}
	return restoredCounts{rows: n[0], deleted: n[1], later: n[2]}, nil
}

// psqlOwner is who runs psql: the named user when we are root (peer
// authentication compares the OS user with the role), else ourselves.
func psqlOwner(user string) (recovery.Owner, error) {
	if os.Geteuid() == 0 {
		return lookupOwner(user)
	}
	return clusterOwner()
}

// stopBeforeAdvice is how to aim right: the DELETE's own transaction,
// found in the archived WAL, stops replay exactly before it.
const stopBeforeAdvice = "press f on the target page to find the DELETE in the archived WAL, and choose it to stop just before it"

func (s *Sandbox) judgeAccident(c restoredCounts) Verdict {
	e := s.Expected
	at := describeTime(s.AccidentAt)
	later := e.RowsAfter - (e.RowsBefore - e.RowsDeleted)
	rows := c.rows
	v := Verdict{Rows: rows}
	replayed := c.deleted == 0 && rows > 0
	switch {
	case rows == e.RowsBefore && c.deleted == e.RowsDeleted && c.later == 0:
		v.OK = true
		v.Message = fmt.Sprintf("the documents table has %d rows, as just before the accident at %s: the %d deleted documents are back, and none of the %d written after it is there.",
			rows, at, e.RowsDeleted, later)
	case replayed && rows == e.RowsAfter:
		v.Message = fmt.Sprintf("the documents table has %d rows, as at the end of the archive: the DELETE at %s was replayed, so its %d documents are still missing. "+
			"A correct restore has the %d rows of just before it: %s.",
			rows, at, e.RowsDeleted, e.RowsBefore, stopBeforeAdvice)
	case replayed:
		v.Message = fmt.Sprintf("the documents table has %d rows: the DELETE at %s was replayed, so its %d documents are missing; just before it there were %d. "+
			"Stop before it: %s.", rows, at, e.RowsDeleted, e.RowsBefore, stopBeforeAdvice)
	case c.later > 0:
		v.Message = fmt.Sprintf("the documents table has %d rows, not the %d of just before the accident at %s: %d documents written after it are there. "+
			"The target is after the accident: %s.", rows, e.RowsBefore, at, c.later, stopBeforeAdvice)
	case rows < e.RowsBefore:
		v.Message = fmt.Sprintf("the documents table has %d rows, fewer than the %d of just before the accident at %s: the target is too early, and %d documents written before the accident are missing. "+
			"Aim just before the accident, not earlier: %s.", rows, e.RowsBefore, at, e.RowsBefore-rows, stopBeforeAdvice)
	default:
		v.Message = fmt.Sprintf("the documents table has %d rows, not the %d of just before the accident at %s (the end of the archive has %d).",
			rows, e.RowsBefore, at, e.RowsAfter)
	}
	return v
}

func (s *Sandbox) judgeDiskLost(rows int) Verdict {
	e := s.Expected
	v := Verdict{Rows: rows}
	switch {
	case rows == e.RowsAfter:
		v.OK = true
		v.Message = fmt.Sprintf("the documents table has %d rows, all %d the archive holds: nothing written before the disk was lost is missing.", rows, e.RowsAfter)
	case rows < e.RowsAfter:
		v.Message = fmt.Sprintf("the documents table has %d rows, fewer than the %d at the end of the archive: %d documents are missing. "+
			"Restore without a target time, to the end of the archive.", rows, e.RowsAfter, e.RowsAfter-rows)
	default:
		v.Message = fmt.Sprintf("the documents table has %d rows, more than the %d the archive holds.", rows, e.RowsAfter)
	}
	return v
}
