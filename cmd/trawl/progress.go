package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/internal/units"
)

// startProgress shows the job's progress on stderr until the returned
// function is called: on a terminal a line redrawn in place, or for a
// fetch (whose list says how much there is) a bar with percent, rate and
// ETA; elsewhere (a CI log, a file) a plain line every 10 seconds.
// note adds what the line must say besides the counts.
func startProgress(c *crawler.Crawler, o *configs.Job, known bool, stderr io.Writer, note func() string) func() {
	mode := o.Output.Progress
	if o.Output.Quiet || o.Output.Verbose || mode == "none" {
		return func() {}
	}
	f, isFile := stderr.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	if mode == "auto" {
		mode = "line"
		if known {
			mode = "bar"
		}
	}
	every := 500 * time.Millisecond
	if !tty {
		every = 10 * time.Second
	}
	p := &progress{c: c, w: stderr, tty: tty, bar: mode == "bar", note: note, start: time.Now()}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(stderr, "\r\033[K")
				}
				return
			case now := <-t.C:
				p.draw(now)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// progress draws the job's progress.
type progress struct {
	c     *crawler.Crawler
	w     io.Writer
	tty   bool
	bar   bool
	note  func() string
	start time.Time
	// the rate over the last draws
	lastT    time.Time
	last     int
	lastRecv int64
	rate     float64 // pages a second, smoothed
}

func (p *progress) draw(now time.Time) {
	s := p.c.Progress()
	secs := now.Sub(p.lastT).Seconds()
	if p.lastT.IsZero() {
		secs = now.Sub(p.start).Seconds()
	}
	inst := float64(s.Stored-p.last) / max(secs, 1e-3)
	if p.rate == 0 {
		p.rate = inst
	} else {
		p.rate = 0.7*p.rate + 0.3*inst
	}
	recvRate := float64(s.Received-p.lastRecv) / max(secs, 1e-3)
	p.lastT, p.last, p.lastRecv = now, s.Stored, s.Received
	elapsed := now.Sub(p.start).Truncate(time.Second)
	var line string
	if p.bar {
		line = p.barLine(s, elapsed)
	} else {
		line = fmt.Sprintf("%s  done %d  queued %d  in flight %d  failed %d  %s  %.0f pages/s",
			elapsed, s.Stored, s.Queued, s.Leased, s.Failed, units.FormatSize(s.Bytes), p.rate)
		if s.Received > 0 { // downloads: bytes as they arrive
			line = fmt.Sprintf("%s  done %d  queued %d  in flight %d  failed %d  %s received  %s/s",
				elapsed, s.Stored, s.Queued, s.Leased, s.Failed, units.FormatSize(s.Received), units.FormatSize(int64(recvRate)))
		}
	}
	line += p.note()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+line)
	} else {
		fmt.Fprintln(p.w, "trawl: "+line)
	}
}

// barLine is the bar of a job whose size is known: the pages in the job
// out of those plus the ones still to fetch.
func (p *progress) barLine(s crawler.Progress, elapsed time.Duration) string {
	total := s.Total + s.Queued + s.Leased
	frac := 1.0
	if total > 0 {
		frac = float64(s.Total) / float64(total)
	}
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	if fill < width {
		bar = bar[:fill] + ">" + bar[fill+1:]
	}
	eta := "ETA --"
	if left := total - s.Total; p.rate > 0 && left > 0 {
		eta = "ETA " + (time.Duration(float64(left) / p.rate * float64(time.Second))).Round(time.Second).String()
	} else if left == 0 {
		eta = "ETA 0s"
	}
	bytes := s.Bytes + s.Received
	return fmt.Sprintf("[%s] %3.0f%%  %d/%d  %.0f/s  %s  %s  failed %d  %s",
		bar, frac*100, s.Total, total, p.rate, units.FormatSize(bytes), eta, s.Failed, elapsed)
}
