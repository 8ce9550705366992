// Command image writes an OCI image of upgrade-helper without a container daemon: it lays a
// static linux binary on an empty base as one layer and saves the image as a tarball in the
// format of `docker save`, which docker load, podman load, crane push and skopeo read.
//
//	go run . -binary bin/upgrade-helper -arch amd64 -version v0.1.0 -out upgrade-helper-amd64.tar
//
// The image runs the binary as entrypoint, as the non-root user 65532:65532.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// DefaultRepository is the placeholder image name; pass -repository for a real registry.
const DefaultRepository = "registry.cloudweav.io/cloudweav/upgrade-helper"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var o Options
	var out, created string
	fs.StringVar(&o.Binary, "binary", "", "static linux executable to put in the image (required)")
	fs.StringVar(&o.Arch, "arch", "", "architecture the binary was built for: amd64 or arm64 (required)")
	fs.StringVar(&o.Version, "version", "", "version stamped into the labels and the tag (required)")
	fs.StringVar(&o.Commit, "commit", "unknown", "source commit stamped into the labels")
	fs.StringVar(&o.Repository, "repository", DefaultRepository, "image name without the tag")
	fs.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time in Unix seconds (default $SOURCE_DATE_EPOCH, else 0) for a reproducible image")
	fs.StringVar(&out, "out", "", "tarball to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	for flagName, value := range map[string]string{"-binary": o.Binary, "-arch": o.Arch, "-version": o.Version, "-out": out} {
		if value == "" {
			return fmt.Errorf("%s is required", flagName)
		}
	}
	o.Created = time.Unix(0, 0).UTC()
	if created != "" {
		secs, err := strconv.ParseInt(created, 10, 64)
		if err != nil {
			return fmt.Errorf("-created %q: not Unix seconds: %w", created, err)
		}
		o.Created = time.Unix(secs, 0).UTC()
	}
	tag, err := o.Tag()
	if err != nil {
		return err
	}
	img, err := Build(o)
	if err != nil {
		return err
	}
	if err := Write(out, tag, img); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %s/%s %s\n", out, tag, "linux", o.Arch, digest)
	return nil
}
