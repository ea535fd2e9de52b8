package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress is a scenario's progress bar on stderr: calls finished out of those planned. It
// is inert with --quiet or when stderr is not a terminal.
type progress struct {
	bar *progressbar.ProgressBar
}

func (h *harness) newProgress(desc string, total int) *progress {
	if h.opts.Quiet || !h.tty || total <= 0 {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(h.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("done"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(h.stderr) }),
	)}
}

func (p *progress) add() {
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

// finish completes the bar (calls not started, after an interrupt, included).
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
