package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The version and commit that TestMakeImage stamps; the binary in the image must print them.
const (
	testVersion = "v0.0.0-imagetest+build.7"
	testCommit  = "0123abc"
)

// built is the image that `make image` wrote, shared by the tests (built once in TestMain).
var built struct {
	dir, tarball string
	err          error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "upgrade-helper-image-")
	if err != nil {
		panic(err)
	}
	built.dir = dir
	built.tarball, built.err = makeImage(dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// makeImage runs the repository's `make image` for this machine's architecture into dir.
func makeImage(dir string) (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", "-C", root, "image",
		"IMAGE_DIR="+dir, "IMAGE_ARCHS="+runtime.GOARCH,
		"VERSION="+testVersion, "COMMIT="+testCommit, "SOURCE_DATE_EPOCH=1700000000")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", errors.New("make image: " + err.Error() + "\n" + out.String())
	}
	return filepath.Join(dir, "upgrade-helper-"+runtime.GOARCH+".tar"), nil
}

func openBuilt(t *testing.T) v1.Image {
	t.Helper()
	if built.err != nil {
		t.Fatal(built.err)
	}
	img, err := tarball.ImageFromPath(built.tarball, nil)
	if err != nil {
		t.Fatalf("open %s: %v", built.tarball, err)
	}
	return img
}

// TestMakeImageTarball reads the tarball with the standard library, as docker load does:
// manifest.json names the tag, the config and one layer, each of them present.
func TestMakeImageTarball(t *testing.T) {
	if built.err != nil {
		t.Fatal(built.err)
	}
	f, err := os.Open(built.tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", built.tarball, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = data
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != 1 {
		t.Fatalf("manifest.json holds %d images, want 1", len(manifest))
	}
	m := manifest[0]
	if diff := cmp.Diff([]string{"registry.cloudweav.io/cloudweav/upgrade-helper:v0.0.0-imagetest-build.7"}, m.RepoTags); diff != "" {
		t.Errorf("RepoTags (-want +got):\n%s", diff)
	}
	if len(m.Layers) != 1 {
		t.Errorf("%d layers, want 1", len(m.Layers))
	}
	for _, name := range append([]string{m.Config}, m.Layers...) {
		if _, ok := files[name]; !ok {
			t.Errorf("manifest.json names %s, which the tarball does not hold", name)
		}
	}
}

func TestMakeImageConfig(t *testing.T) {
	img := openBuilt(t)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Architecture, OS string
		Entrypoint, Cmd  []string
		User             string
		Labels           map[string]string
		Created          time.Time
	}
	got := summary{
		Architecture: cfg.Architecture, OS: cfg.OS,
		Entrypoint: cfg.Config.Entrypoint, Cmd: cfg.Config.Cmd,
		User: cfg.Config.User, Labels: cfg.Config.Labels, Created: cfg.Created.UTC(),
	}
	created := time.Unix(1700000000, 0).UTC()
	want := summary{
		Architecture: runtime.GOARCH, OS: "linux",
		Entrypoint: []string{"/usr/local/bin/upgrade-helper"},
		User:       "65532:65532",
		Labels: map[string]string{
			LabelTitle:       "upgrade-helper",
			LabelDescription: "Keeps Cloudweav upgrades safe: version guard, VM live-migration detector, VM restore",
			LabelVersion:     testVersion,
			LabelRevision:    testCommit,
			LabelCreated:     created.Format(time.RFC3339),
		},
		Created: created,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
	if strings.HasPrefix(cfg.Config.User, "0:") || cfg.Config.User == "" || cfg.Config.User == "root" {
		t.Errorf("the image runs as root (User %q)", cfg.Config.User)
	}
}

// TestMakeImageBinaryRuns extracts the image's filesystem, checks its files and runs the
// binary in it with `version`: it must print the version and commit that make stamped.
func TestMakeImageBinaryRuns(t *testing.T) {
	img := openBuilt(t)
	type file struct {
		Mode     int64
		UID, GID int
		Dir      bool
	}
	files := map[string]file{}
	var passwd string
	binary := filepath.Join(t.TempDir(), "upgrade-helper")
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(hdr.Name, "/")] = file{Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid, Dir: hdr.Typeflag == tar.TypeDir}
		switch hdr.Name {
		case "etc/passwd":
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			passwd = string(data)
		case "usr/local/bin/upgrade-helper":
			out, err := os.OpenFile(binary, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantFiles := map[string]file{
		"etc":                          {Mode: 0o755, Dir: true},
		"etc/group":                    {Mode: 0o644},
		"etc/passwd":                   {Mode: 0o644},
		"home":                         {Mode: 0o755, Dir: true},
		"home/nonroot":                 {Mode: 0o700, UID: UID, GID: GID, Dir: true},
		"tmp":                          {Mode: 0o1777, Dir: true},
		"usr":                          {Mode: 0o755, Dir: true},
		"usr/local":                    {Mode: 0o755, Dir: true},
		"usr/local/bin":                {Mode: 0o755, Dir: true},
		"usr/local/bin/upgrade-helper": {Mode: 0o755},
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("image files (-want +got):\n%s", diff)
	}
	if !strings.Contains(passwd, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd does not name user 65532:\n%s", passwd)
	}

	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("upgrade-helper version: %v\n%s", err, out)
	}
	for _, want := range []string{"upgrade-helper version " + testVersion, "commit " + testCommit, "linux/" + runtime.GOARCH} {
		if !strings.Contains(string(out), want) {
			t.Errorf("upgrade-helper version printed %q, want it to contain %q", out, want)
		}
	}
}

// TestBuildRejects checks that Build refuses what would not run in the image.
func TestBuildRejects(t *testing.T) {
	if built.err != nil {
		t.Fatal(built.err)
	}
	binary := filepath.Join(built.dir, "upgrade-helper-linux-"+runtime.GOARCH)
	text := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	dynamic, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err = filepath.EvalSymlinks(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		options Options
		want    string
	}{
		{"unknown architecture", Options{Binary: binary, Arch: "s390", Version: "v1"}, `unsupported architecture "s390"`},
		{"no version", Options{Binary: binary, Arch: runtime.GOARCH}, "a version is required"},
		{"missing binary", Options{Binary: filepath.Join(built.dir, "nope"), Arch: runtime.GOARCH, Version: "v1"}, "read the binary"},
		{"not an ELF file", Options{Binary: text, Arch: runtime.GOARCH, Version: "v1"}, "not an ELF executable"},
		{"wrong architecture", Options{Binary: binary, Arch: other, Version: "v1"}, "built for EM_"},
		{"dynamically linked", Options{Binary: dynamic, Arch: runtime.GOARCH, Version: "v1"}, "dynamically linked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.options)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTag(t *testing.T) {
	tests := []struct {
		version, want string
	}{
		{"v0.1.0", "registry.cloudweav.io/cloudweav/upgrade-helper:v0.1.0"},
		{"v1.2.1+build.3", "registry.cloudweav.io/cloudweav/upgrade-helper:v1.2.1-build.3"},
		{"becbb9b-dirty", "registry.cloudweav.io/cloudweav/upgrade-helper:becbb9b-dirty"},
		{"", "registry.cloudweav.io/cloudweav/upgrade-helper:dev"},
		{"-x", "registry.cloudweav.io/cloudweav/upgrade-helper:x"},
		{strings.Repeat("a", 200), "registry.cloudweav.io/cloudweav/upgrade-helper:" + strings.Repeat("a", 128)},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			tag, err := Options{Repository: DefaultRepository, Version: tt.version}.Tag()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tag.String()); diff != "" {
				t.Errorf("Tag() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildReproducible builds the same image twice: the digests must match.
func TestBuildReproducible(t *testing.T) {
	if built.err != nil {
		t.Fatal(built.err)
	}
	o := Options{
		Binary: filepath.Join(built.dir, "upgrade-helper-linux-"+runtime.GOARCH), Arch: runtime.GOARCH,
		Version: "v1.0.0", Commit: "abc", Repository: DefaultRepository, Created: time.Unix(1700000000, 0).UTC(),
	}
	var digests []string
	for range 2 {
		img, err := Build(o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same input gave %s and %s", digests[0], digests[1])
	}
}
