package logging

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
)

func TestSeedFormatter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		entry *logrus.Entry
		want  string
	}{
		{
			name:  "info at start",
			entry: &logrus.Entry{Level: logrus.InfoLevel, Time: start, Message: "Starting VM Live Migrate Detector"},
			want:  "INFO[0000] Starting VM Live Migrate Detector\n",
		},
		{
			name:  "warning after 12s with fields sorted",
			entry: &logrus.Entry{Level: logrus.WarnLevel, Time: start.Add(12 * time.Second), Message: "m", Data: logrus.Fields{"vm": "a/b", "node": "n1"}},
			want:  "WARN[0012] m node=n1 vm=a/b\n",
		},
		{
			name:  "debug",
			entry: &logrus.Entry{Level: logrus.DebugLevel, Time: start, Message: "d"},
			want:  "DEBU[0000] d\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&SeedFormatter{Start: start}).Format(tt.entry)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Format() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewLevels(t *testing.T) {
	var buf bytes.Buffer
	tests := []struct {
		name string
		opts Options
		want logrus.Level
	}{
		{"default", Options{}, logrus.InfoLevel},
		{"debug", Options{Debug: true}, logrus.DebugLevel},
		{"trace wins", Options{Debug: true, Trace: true}, logrus.TraceLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(&buf, tt.opts).GetLevel(); got != tt.want {
				t.Errorf("level = %v, want %v", got, tt.want)
			}
		})
	}
}
