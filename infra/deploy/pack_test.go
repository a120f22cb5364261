package deploy

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeELF is enough of an executable for Pack, which only checks the magic number.
var fakeELF = append([]byte("\x7fELF\x02\x01\x01"), bytes.Repeat([]byte("wxfn"), 1000)...)

func readZip(t *testing.T, path string) (*zip.File, []byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("%s: %d entries, want 1", path, len(zr.File))
	}
	f := zr.File[0]
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return f, b
}

func TestPack(t *testing.T) {
	out := t.TempDir()
	// Leftovers in the SCF code directory must not ship.
	if err := os.MkdirAll(filepath.Join(out, "scf", "login"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "scf", "login", "old"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	written, err := Pack(out, "login", fakeELF)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 3 {
		t.Errorf("written %v", written)
	}
	for _, tc := range []struct{ zip, entry string }{
		{filepath.Join(out, "aws", "login.zip"), "bootstrap"},
		{filepath.Join(out, "scf", "login.zip"), "main"},
	} {
		f, b := readZip(t, tc.zip)
		if f.Name != tc.entry {
			t.Errorf("%s: entry %q, want %q", tc.zip, f.Name, tc.entry)
		}
		if f.Mode().Perm() != 0o755 || !f.Mode().IsRegular() {
			t.Errorf("%s: mode %v, want -rwxr-xr-x", tc.zip, f.Mode())
		}
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s: modified %v, want %v", tc.zip, f.Modified, zipTime)
		}
		if !bytes.Equal(b, fakeELF) {
			t.Errorf("%s: content differs", tc.zip)
		}
	}
	entries, err := os.ReadDir(filepath.Join(out, "scf", "login"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "main" {
		t.Fatalf("scf/login holds %v (%v), want just main", entries, err)
	}
	st, err := os.Stat(filepath.Join(out, "scf", "login", "main"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("scf/login/main: %v %v", st, err)
	}

	// The same binary packs to the same bytes.
	first, _ := os.ReadFile(filepath.Join(out, "aws", "login.zip"))
	if _, err := Pack(out, "login", fakeELF); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(out, "aws", "login.zip"))
	if !bytes.Equal(first, second) {
		t.Error("packing twice gave different zips")
	}
}

func TestPackRefuses(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		bin  []byte
		want string
	}{
		{"login", []byte("#!/bin/sh\necho hi\n"), "not an ELF"},
		{"login", nil, "not an ELF"},
		{"../evil", fakeELF, "not a function name"},
		{"Login", fakeELF, "not a function name"},
	} {
		if _, err := Pack(out, tc.name, tc.bin); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pack(%q): %v, want %q", tc.name, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("refused packs wrote %v", entries)
	}
}
