package pglog

import "testing"

func TestParseLSN(t *testing.T) {
	cases := []struct {
		in   string
		want LSN
		str  string
	}{
		{"0/3000028", 0x3000028, "0/3000028"},
		{"0/03000028", 0x3000028, "0/3000028"}, // zero padded, as 19dev is said to print
		{"1A/FF000000", 0x1AFF000000, "1A/FF000000"},
		{"ffffffff/ffffffff", 0xFFFFFFFFFFFFFFFF, "FFFFFFFF/FFFFFFFF"},
		{"0/0", 0, "0/0"},
	}
	for _, c := range cases {
		got, err := ParseLSN(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseLSN(%q) = %v (%s), %v; want %#x (%s)", c.in, uint64(got), got, err, uint64(c.want), c.str)
		}
	}
	for _, bad := range []string{"", "0", "/1", "1/", "0/123456789", "g/0", "0/+1", "0x1/0", "0/1/2", " 0/1"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}

func TestSegmentArithmetic(t *testing.T) {
	// pg-recovery.md §3.1's examples.
	redoDone, _ := ParseLSN("0/103D83B8")
	if seg := redoDone.SegmentNumber(DefaultSegmentSize); seg != 0x10 {
		t.Errorf("segment %#x", seg)
	}
	if name := SegmentName(1, 0x10, DefaultSegmentSize); name != "000000010000000000000010" {
		t.Errorf("name %s", name)
	}
	const gib = 1 << 30
	big, _ := ParseLSN("1A/FF000000")
	if name := SegmentName(1, big.SegmentNumber(gib), gib); name != "000000010000001A00000003" {
		t.Errorf("1 GiB segment name %s", name)
	}
	tli, segNo, err := ParseSegmentName("000000010000001A00000003", gib)
	if err != nil || tli != 1 || SegmentStart(segNo, gib) != 0x1AC0000000 {
		t.Errorf("ParseSegmentName: %d %d %v", tli, segNo, err)
	}
	if SegmentStart(0x10, 0) != 0x10000000 || LSN(0x10000000).SegmentNumber(-1) != 0x10 {
		t.Error("non-positive segment sizes must mean 16 MiB")
	}
	for _, notSegment := range []string{"00000002.history", "000000010000000000000003.00000028.backup", "00000001000000000000000G"} {
		if IsSegmentName(notSegment) {
			t.Errorf("%s taken for a segment", notSegment)
		}
	}
}
