package record

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  []string
	}{
		{"empty", "", nil},
		{"one", "default/a", []string{"default/a"}},
		{"sorted, blanks and spaces dropped", " prod/b,, default/a ,", []string{"default/a", "prod/b"}},
		{"duplicates dropped", "default/a,default/a", []string{"default/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseEntry(tt.entry)); diff != "" {
				t.Errorf("ParseEntry(%q) (-want +got):\n%s", tt.entry, diff)
			}
		})
	}
}

func TestMergeEntry(t *testing.T) {
	tests := []struct {
		name        string
		entry       string
		add         []string
		want        string
		wantChanged bool
	}{
		{"into empty", "", []string{"prod/b", "default/a"}, "default/a,prod/b", true},
		{"union keeps the earlier run's VMs", "default/a,prod/b", []string{"default/c"}, "default/a,default/c,prod/b", true},
		{"rerun that sees nothing keeps all", "default/a,prod/b", nil, "default/a,prod/b", false},
		{"already there", "default/a", []string{"default/a"}, "default/a", false},
		{"unsorted stored entry is normalised", "prod/b,default/a", nil, "default/a,prod/b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := MergeEntry(tt.entry, tt.add)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MergeEntry (-want +got):\n%s", diff)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
		})
	}
}
