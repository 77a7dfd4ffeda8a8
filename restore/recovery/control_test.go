package recovery

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/problem"
)

// controlFile lays out a pg_control as version writes it, with the
// constants at floatAt and the CRC at crcAt.
func controlFile(version uint32, redo uint64, tli uint32, seg uint32, floatAt, crcAt int) []byte {
	data := make([]byte, pgControlSize)
	le := binary.LittleEndian
	le.PutUint64(data[0:], 7412345678901234567)
	le.PutUint32(data[offVersion:], version)
	le.PutUint32(data[offState:], uint32(DBShutdowned))
	le.PutUint64(data[offCheckpoint:], redo+0x28)
	at := offRedoFrom11
	if version <= lastWithPrevCP {
		at = offRedoUpTo10
	}
	le.PutUint64(data[at:], redo)
	le.PutUint32(data[at+8:], tli)
	le.PutUint64(data[floatAt:], math.Float64bits(floatFormat))
	le.PutUint32(data[floatAt+8:], 8192)
	le.PutUint32(data[floatAt+12:], 131072)
	le.PutUint32(data[floatAt+16:], 8192)
	le.PutUint32(data[floatAt+20:], seg)
	le.PutUint32(data[crcAt:], crc32.Checksum(data[:crcAt], crc32.MakeTable(crc32.Castagnoli)))
	return data
}

func TestParseControlOfEachLayout(t *testing.T) {
	for _, c := range []struct {
		version        uint32
		floatAt, crcAt int
	}{{1002, 176, 232}, {1300, 184, 288}, {1800, 200, 296}} {
		got, err := ParseControl(controlFile(c.version, 0x3000028, 2, 64<<20, c.floatAt, c.crcAt))
		if err != nil {
			t.Fatalf("%d: %v", c.version, err)
		}
		if got.Version != c.version || got.Redo != 0x3000028 || got.Timeline != 2 || got.SegmentSize != 64<<20 ||
			got.State != DBShutdowned || got.Checkpoint != 0x3000050 || got.SystemID != 7412345678901234567 {
			t.Errorf("%d: %+v", c.version, got)
		}
	}
}

func TestDamagedControlIsRefused(t *testing.T) {
	good := controlFile(1300, 0x3000028, 1, 16<<20, 184, 288)
	flipped := append([]byte(nil), good...)
	flipped[offCheckpoint] ^= 1
	noFloat := controlFile(1300, 0x3000028, 1, 16<<20, 184, 288)
	copy(noFloat[184:], make([]byte, 8))
	binary.LittleEndian.PutUint32(noFloat[288:], crc32.Checksum(noFloat[:288], crc32.MakeTable(crc32.Castagnoli)))
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"a flipped bit":        {flipped, "no CRC-32C"},
		"cut short":            {good[:300], "bytes, where PostgreSQL writes"},
		"odd segment size":     {controlFile(1300, 0x3000028, 1, 3<<20, 184, 288), "implausible"},
		"an unknown version":   {controlFile(42, 0x3000028, 1, 16<<20, 184, 288), "pg_control_version 42"},
		"no compile constants": {noFloat, "no floatFormat"},
	} {
		if _, err := ParseControl(c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	dir := t.TempDir()
	if _, err := ReadControl(dir); !problem.Is(err, problem.Corrupt) || !strings.Contains(err.Error(), "no control file") {
		t.Errorf("no pg_control: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "global"), 0o700)
	os.WriteFile(filepath.Join(dir, "global", "pg_control"), flipped, 0o600)
	if _, err := ReadControl(dir); !problem.Is(err, problem.Corrupt) || !strings.Contains(err.Error(), "backup-fetch") {
		t.Errorf("a damaged pg_control: %v", err)
	}
}
