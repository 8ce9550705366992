package cmd

import (
	"fmt"
	"io"
	"strings"
)

// progressBar draws one line that it redraws in place: for terminals only (plain log lines are
// written otherwise).
type progressBar struct {
	w     io.Writer
	what  string
	width int
}

func (p *progressBar) update(key string, done, total int) {
	if total <= 0 {
		return
	}
	filled := done * p.width / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s (last: %s)\x1b[K",
		strings.Repeat("=", filled), strings.Repeat(" ", p.width-filled), done, total, p.what, key)
	if done == total {
		fmt.Fprintln(p.w)
	}
}
