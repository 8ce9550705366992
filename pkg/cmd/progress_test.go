package cmd

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	bar := &progressBar{w: &buf, what: "VMs down", width: 4}
	bar.update("default/a", 1, 2)
	bar.update("prod/b", 2, 2)
	want := "\r[==  ] 1/2 VMs down (last: default/a)\x1b[K" + "\r[====] 2/2 VMs down (last: prod/b)\x1b[K\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}
