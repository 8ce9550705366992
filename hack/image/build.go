package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed layout.
const (
	// BinaryPath is where the binary lies in the image, and the entrypoint.
	BinaryPath = "/usr/local/bin/upgrade-helper"
	// UID and GID are the non-root user and group the image runs as.
	UID = 65532
	GID = 65532
	// UserName is UID's name in /etc/passwd.
	UserName = "nonroot"
	// Home is the user's home folder (HOME in the environment).
	Home = "/home/nonroot"
)

// The OCI annotation keys written as image labels.
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
)

// Options say what image to build.
type Options struct {
	// Binary is the path of a static linux executable for Arch.
	Binary string
	// Arch is the GOARCH the binary was built for: amd64 or arm64.
	Arch string
	// Version and Commit are stamped into the labels (Version also into the tag).
	Version string
	Commit  string
	// Repository is the image name without a tag, e.g. registry.example/cloudweav/upgrade-helper.
	Repository string
	// Created is the image's creation time; a fixed time keeps builds reproducible.
	Created time.Time
}

// archInfo is what the image config and the ELF header say about an architecture.
type archInfo struct {
	machine elf.Machine
	variant string
}

var arches = map[string]archInfo{
	"amd64": {machine: elf.EM_X86_64},
	"arm64": {machine: elf.EM_AARCH64, variant: "v8"},
}

// invalidTagChars are the characters a tag may not hold; a version like 1.2.3+build becomes 1.2.3-build.
var invalidTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Tag is the reference the image is saved under: Repository:Version, with the characters a tag
// may not hold replaced by '-'.
func (o Options) Tag() (name.Tag, error) {
	tag := invalidTagChars.ReplaceAllString(o.Version, "-")
	tag = strings.TrimLeft(tag, ".-")
	if tag == "" {
		tag = "dev"
	}
	if len(tag) > 128 {
		tag = tag[:128]
	}
	t, err := name.NewTag(o.Repository+":"+tag, name.StrictValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image reference %s:%s: %w", o.Repository, tag, err)
	}
	return t, nil
}

// Build lays the binary on an empty base: one layer with the binary, /etc/passwd and
// /etc/group naming the non-root user, its home and /tmp; a config that runs the binary as that
// user.
func Build(o Options) (v1.Image, error) {
	info, ok := arches[o.Arch]
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q (want amd64 or arm64)", o.Arch)
	}
	if o.Version == "" {
		return nil, errors.New("a version is required")
	}
	binary, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the binary: %w", err)
	}
	if err := checkStaticELF(binary, info.machine); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Binary, err)
	}
	layerTar, err := rootfs(binary, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("make the layer: %w", err)
	}

	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: o.Created},
			CreatedBy: "hack/image: " + BinaryPath + ", /etc/passwd, /etc/group",
			Comment:   "upgrade-helper " + o.Version,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("append the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read the config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture = o.Arch
	cfg.Variant = info.variant
	cfg.OS = "linux"
	cfg.Created = v1.Time{Time: o.Created}
	cfg.Author = "Cloudweav"
	cfg.Config.Entrypoint = []string{BinaryPath}
	cfg.Config.Cmd = nil
	cfg.Config.User = fmt.Sprintf("%d:%d", UID, GID)
	cfg.Config.WorkingDir = Home
	cfg.Config.Env = []string{
		"PATH=/usr/local/bin",
		"HOME=" + Home,
	}
	cfg.Config.Labels = map[string]string{
		LabelTitle:       "upgrade-helper",
		LabelDescription: "Keeps Cloudweav upgrades safe: version guard, VM live-migration detector, VM restore",
		LabelVersion:     o.Version,
		LabelRevision:    o.Commit,
		LabelCreated:     o.Created.UTC().Format(time.RFC3339),
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set the config: %w", err)
	}
	return img, nil
}

// Write saves img as a tarball in the format of `docker save` (manifest.json, the config and
// the layers), which docker load, podman load, crane push and skopeo's docker-archive read.
// It writes a temporary file beside path and renames it, so path is never half written.
func Write(path string, tag name.Tag, img v1.Image) error {
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkStaticELF makes sure data is an executable for machine that needs no dynamic loader:
// the image has no libc, so anything else would fail to start.
func checkStaticELF(data []byte, machine elf.Machine) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Machine != machine {
		return fmt.Errorf("built for %s, not %s", f.Machine, machine)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("not an executable (ELF type %s)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (it names a program interpreter): build it with CGO_ENABLED=0")
		}
	}
	return nil
}

// entry is one file or folder of the layer.
type entry struct {
	path     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

// rootfs returns the layer's uncompressed tar: folders before their contents, fixed owners,
// modes and times, so the same binary always gives the same layer digest.
func rootfs(binary []byte, created time.Time) ([]byte, error) {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" +
		fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin\n", UserName, UID, GID, UserName, Home)
	group := "root:x:0:\n" + fmt.Sprintf("%s:x:%d:\n", UserName, GID)
	entries := []entry{
		{path: "etc/", mode: 0o755, dir: true},
		{path: "etc/group", mode: 0o644, data: []byte(group)},
		{path: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{path: "home/", mode: 0o755, dir: true},
		{path: strings.TrimPrefix(Home, "/") + "/", mode: 0o700, uid: UID, gid: GID, dir: true},
		{path: "tmp/", mode: 0o1777, dir: true},
		{path: "usr/", mode: 0o755, dir: true},
		{path: "usr/local/", mode: 0o755, dir: true},
		{path: "usr/local/bin/", mode: 0o755, dir: true},
		{path: strings.TrimPrefix(BinaryPath, "/"), mode: 0o755, data: binary},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.path,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			Uname:   ownerName(e.uid),
			Gname:   ownerName(e.gid),
			ModTime: created,
		}
		if e.dir {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.path, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close the layer: %w", err)
	}
	return buf.Bytes(), nil
}

func ownerName(id int) string {
	if id == 0 {
		return "root"
	}
	if id == UID {
		return UserName
	}
	return strconv.Itoa(id)
}
