package logging

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/term"
)

// Options chooses the level and the look of the log.
type Options struct {
	Debug   bool
	Trace   bool
	NoColor bool
}

// New returns a logger that writes to out at the level the options ask for (trace wins over
// debug, info otherwise).
func New(out io.Writer, opts Options) *logrus.Logger {
	logger := logrus.New()
	logger.SetOutput(out)
	logger.SetLevel(logrus.InfoLevel)
	if opts.Debug {
		logger.SetLevel(logrus.DebugLevel)
	}
	if opts.Trace {
		logger.SetLevel(logrus.TraceLevel)
	}
	logger.SetFormatter(&SeedFormatter{Start: time.Now(), Color: !opts.NoColor && IsTerminal(out)})
	return logger
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SeedFormatter writes "LEVL[SSSS] message key=value ..." lines.
type SeedFormatter struct {
	// Start is the moment the elapsed seconds count from.
	Start time.Time
	// Color paints the level as logrus's own text formatter does on a terminal.
	Color bool
}

// Format implements logrus.Formatter.
func (f *SeedFormatter) Format(entry *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	level := strings.ToUpper(entry.Level.String())
	if len(level) > 4 {
		level = level[:4]
	}
	elapsed := int(entry.Time.Sub(f.Start) / time.Second)
	if elapsed < 0 {
		elapsed = 0
	}
	if f.Color {
		fmt.Fprintf(&b, "\x1b[%dm%s\x1b[0m[%04d] %-44s", levelColor(entry.Level), level, elapsed, entry.Message)
	} else {
		fmt.Fprintf(&b, "%s[%04d] %s", level, elapsed, entry.Message)
	}
	keys := make([]string, 0, len(entry.Data))
	for k := range entry.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, entry.Data[k])
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func levelColor(level logrus.Level) int {
	switch level {
	case logrus.DebugLevel, logrus.TraceLevel:
		return 37
	case logrus.WarnLevel:
		return 33
	case logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel:
		return 31
	default:
		return 36
	}
}
