package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// committed is the reference in the repository, from this folder.
var committed = filepath.Join("..", "..", "docs", "cli")

// readPages returns the Markdown pages of dir by file name.
func readPages(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(f)] = string(data)
	}
	return pages
}

func names(pages map[string]string) []string {
	out := make([]string, 0, len(pages))
	for name := range pages {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestDocsUpToDate regenerates the CLI reference and compares it with docs/cli.
func TestDocsUpToDate(t *testing.T) {
	for _, name := range defaultEnv {
		t.Setenv(name, "")
	}
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	want, got := readPages(t, dir), readPages(t, committed)
	if len(want) == 0 {
		t.Fatal("gendocs wrote no pages")
	}
	stale := false
	if diff := cmp.Diff(names(want), names(got)); diff != "" {
		stale = true
		t.Errorf("the pages of docs/cli (-generated +committed):\n%s", diff)
	}
	for _, name := range names(want) {
		if page, ok := got[name]; ok {
			if diff := cmp.Diff(want[name], page); diff != "" {
				stale = true
				t.Errorf("docs/cli/%s (-generated +committed):\n%s", name, diff)
			}
		}
	}
	if stale {
		t.Error("docs/cli is out of date with the commands: run `make docs` and commit the result")
	}
}

// TestGenerateIsStable checks that the pages carry the fixed header and no date, that two
// runs write the same pages, and that a page left from a removed command goes.
func TestGenerateIsStable(t *testing.T) {
	for _, name := range defaultEnv {
		t.Setenv(name, "")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "upgrade-helper_removed.md"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	first := readPages(t, dir)
	if _, ok := first["upgrade-helper_removed.md"]; ok {
		t.Error("the page of a removed command is still there")
	}
	for _, want := range []string{"upgrade-helper.md", "upgrade-helper_vm-live-migrate-detector.md",
		"upgrade-helper_version-guard.md", "upgrade-helper_restore-vm.md", "upgrade-helper_completion_bash.md"} {
		if _, ok := first[want]; !ok {
			t.Errorf("no page %s among %v", want, names(first))
		}
	}
	for name, page := range first {
		if !strings.HasPrefix(page, header) {
			t.Errorf("%s does not start with the header", name)
		}
		if strings.Contains(page, "Auto generated") {
			t.Errorf("%s carries cobra's dated line", name)
		}
	}
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, readPages(t, dir)); diff != "" {
		t.Errorf("a second run wrote other pages (-first +second):\n%s", diff)
	}
}
