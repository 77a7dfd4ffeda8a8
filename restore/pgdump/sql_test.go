package pgdump

import (
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// A dump in pg_dump 15's shape, with the statements that name the
// database, a COPY section whose data looks like statements, roles named
// every way pg_dump names them, and sequences.
const shapedDump = `--
-- PostgreSQL database dump
--

\restrict KEY
-- Dumped from database version 15.18
-- Dumped by pg_dump version 15.18
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE DATABASE "email-alert-api_production" WITH TEMPLATE = template0 ENCODING = 'UTF8';
ALTER DATABASE "email-alert-api_production" OWNER TO "Email Owner";
\unrestrict KEY
\connect -reuse-previous=on "dbname='email-alert-api_production'"
\restrict KEY
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
COMMENT ON DATABASE "email-alert-api_production" IS 'alerts';
ALTER ROLE app IN DATABASE "email-alert-api_production" SET work_mem TO '8MB';
GRANT CONNECT ON DATABASE "email-alert-api_production" TO reader;
CREATE TABLE public.subscribers (id integer, note text);
ALTER TABLE public.subscribers OWNER TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO analyst;
-- Data for Name: subscribers
COPY public.subscribers (id, note) FROM stdin;
1	CREATE DATABASE "email-alert-api_production"
2	\\connect email-alert-api_production
3	ALTER DATABASE "email-alert-api_production" OWNER TO nobody;
\.

COPY public."Empty" (a) FROM stdin;
\.

SELECT pg_catalog.setval('public.subscribers_id_seq', 3, true);
GRANT SELECT ON TABLE public.subscribers TO PUBLIC;
REVOKE ALL ON TABLE public.subscribers FROM "Old Role";
\unrestrict KEY

--
-- PostgreSQL database dump complete
--
`

func TestFilterRenamesTheDatabaseOutsideCOPYDataOnly(t *testing.T) {
	f := &filter{rename: "email-alert-api_production_restored_20261204T0412"}
	var out strings.Builder
	if err := f.run(strings.NewReader(shapedDump), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`CREATE DATABASE "email-alert-api_production_restored_20261204T0412" WITH TEMPLATE`,
		`ALTER DATABASE "email-alert-api_production_restored_20261204T0412" OWNER TO "Email Owner";`,
		`\connect -reuse-previous=on "dbname='email-alert-api_production_restored_20261204T0412'"`,
		`COMMENT ON DATABASE "email-alert-api_production_restored_20261204T0412" IS 'alerts';`,
		`ALTER ROLE app IN DATABASE "email-alert-api_production_restored_20261204T0412" SET work_mem`,
		`GRANT CONNECT ON DATABASE "email-alert-api_production_restored_20261204T0412" TO reader;`,
		"1\tCREATE DATABASE \"email-alert-api_production\"\n", // data is data
		"3\tALTER DATABASE \"email-alert-api_production\" OWNER TO nobody;\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if strings.Count(got, "\n") != strings.Count(shapedDump, "\n") {
		t.Errorf("lines were added or lost")
	}
	s := f.script
	if s.Database != "email-alert-api_production" || !s.Complete || s.DumpedBy != "15.18" || s.DumpedFrom != "15.18" {
		t.Errorf("script: %+v", s)
	}
	if len(s.Tables) != 2 || s.Tables[0].Rows != 3 || s.Tables[1].Table != `public."Empty"` || s.Tables[1].Rows != 0 {
		t.Errorf("tables: %+v", s.Tables)
	}
	if len(s.Sequences) != 1 || s.Sequences[0] != (SequenceValue{"public.subscribers_id_seq", 3, true}) {
		t.Errorf("sequences: %+v", s.Sequences)
	}
	if want := []string{"Email Owner", "Old Role", "analyst", "app", "reader"}; !slices.Equal(s.Roles, want) {
		t.Errorf("roles %q, want %q (not nobody: that is COPY data)", s.Roles, want)
	}
	if !slices.Equal(s.Preamble, []string{`\restrict KEY`, "SET client_encoding = 'UTF8';", "SET standard_conforming_strings = on;"}) {
		t.Errorf("preamble: %q", s.Preamble)
	}
}

func TestDatabaseNamesForPsqlAndSQL(t *testing.T) {
	for name, want := range map[string][2]string{
		"content_publisher_production": {"content_publisher_production", `\connect content_publisher_production`},
		"email-alert-api_production":   {`"email-alert-api_production"`, `\connect -reuse-previous=on "dbname='email-alert-api_production'"`},
		`it's "odd"`:                   {`"it's ""odd"""`, `\connect -reuse-previous=on "dbname='it\'s ""odd""'"`},
		"Mixed":                        {`"Mixed"`, `\connect Mixed`},
		"user":                         {`"user"`, `\connect user`},
	} {
		if got := QuoteIdent(name); got != want[0] {
			t.Errorf("QuoteIdent(%q) = %s, want %s", name, got, want[0])
		}
		meta := connectMeta(name)
		if meta != want[1] {
			t.Errorf("connectMeta(%q) = %s, want %s", name, meta, want[1])
		}
		if back := connectTarget(connectLine().FindStringSubmatch(meta)); back != name {
			t.Errorf("connectTarget(%s) = %q, want %q", meta, back, name)
		}
	}
	if got := DefaultName(strings.Repeat("x", 60), time.Date(2026, 12, 4, 4, 12, 0, 0, time.UTC)); len(got) > maxIdentifier-len(incompleteSuffix) || !strings.HasSuffix(got, "_restored_20261204T0412") {
		t.Errorf("a long name: %s (%d bytes)", got, len(got))
	}
}

func TestImportLoadsEachPlainTableFrozen(t *testing.T) {
	head := &filter{}
	dump := `-- PostgreSQL database dump
CREATE TABLE public.subscribers (id integer, note text);
CREATE TABLE public.events (
    id integer,
    at date NOT NULL
)
PARTITION BY RANGE (at);
CREATE TABLE public.events_2026 (
    id integer,
    at date NOT NULL
);
CREATE UNLOGGED TABLE public."Scratch" (a int);
`
	if err := head.run(strings.NewReader(dump), io.Discard); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"public.subscribers": true, "public.events_2026": true, `public."Scratch"`: true}
	if !maps.Equal(head.script.Freezable, want) {
		t.Fatalf("freezable %v, want %v (the partitioned parent cannot be)", head.script.Freezable, want)
	}
	f := &filter{freeze: true, freezable: map[string]bool{"public.subscribers": true}}
	var out strings.Builder
	if err := f.run(strings.NewReader(shapedDump), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, w := range []string{
		"BEGIN;\nTRUNCATE ONLY public.subscribers;\nCOPY public.subscribers (id, note) FROM stdin WITH (FREEZE);\n1\t",
		"3\tALTER DATABASE \"email-alert-api_production\" OWNER TO nobody;\n\\.\nCOMMIT;\n",
		"COPY public.\"Empty\" (a) FROM stdin;\n\\.\n\n", // not created by this dump: loaded as it is
	} {
		if !strings.Contains(got, w) {
			t.Errorf("the output lacks %q", w)
		}
	}
	if f.script.RowCount("public.subscribers") != 3 {
		t.Errorf("rows: %+v", f.script.Tables)
	}
}
