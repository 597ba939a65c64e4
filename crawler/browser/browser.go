// Package browser renders pages in headless Chromium, driven over the
// Chrome DevTools Protocol (chromedp), with every request a page makes
// answered by the caller's Loader: the browser itself reaches no server.
//
// A Pool runs one Chromium process with a bounded number of tabs. A tab is
// closed after a number of pages, and at once when its page hangs or its
// renderer crashes; a browser that stops answering is killed and started
// again. Chromium runs with a parent-death signal, so it dies with the
// process that started it, also when that process is killed with SIGKILL.
package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"
)

// Errors of a render that did not finish.
var (
	// ErrHung is a page that stopped answering: a script that never
	// yields. Its tab is closed.
	ErrHung = errors.New("the page stopped answering (a script that never yields?)")
	// ErrCrashed is a renderer that died, most often out of memory.
	ErrCrashed = errors.New("the page's renderer crashed (out of memory?)")
	// ErrNoBrowser is a browser that cannot be started or reached.
	ErrNoBrowser = errors.New("the browser cannot be started")
)

// A Request is one request a page made.
type Request struct {
	URL    string
	Method string
	Header http.Header
	Body   []byte
	// Type is what the page wants it for, as Chromium says: Document,
	// Stylesheet, Image, Script, XHR, Fetch, Font, Media…
	Type string
}

// A Response answers a Request. Body is the decoded entity: Header must
// not name a Content-Encoding.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Err, when set, fails the request in the page as a network error
	// would; Blocked says it failed by the crawl's rules (robots.txt).
	Err     error
	Blocked bool
}

// A Loader answers the requests a page makes while it renders.
//
// Load is called from many goroutines at once, one for each request in
// flight, and must be safe for that. It must return by ctx's end, which
// is the render's deadline, with a Response (never nil): an answer, or an
// Err. It must not keep req after it returns, nor change it.
type Loader interface {
	Load(ctx context.Context, req *Request) *Response
}

// Options configure a Pool.
type Options struct {
	Path      string // Chromium's executable
	Tabs      int    // pages rendered at once (default 1)
	TabPages  int    // pages a tab renders before it is closed (default 50)
	UserAgent string // the browser's, as the page sees it
	// MaxMemory caps each renderer's JavaScript heap, in bytes (0: the
	// browser's own limit). A page that needs more crashes its renderer.
	MaxMemory int64
	Log       *slog.Logger
}

// A Page is a fetched document to render, and how.
type Page struct {
	URL    string
	Status int
	Header http.Header
	Body   []byte // decoded
	// Idle is how long the network must be quiet after the load event
	// for the page to be done; with Wait (a CSS selector) the page is
	// done when an element matches it instead. Timeout bounds the whole
	// render: a page that has not settled by then is taken as it is.
	Idle    time.Duration
	Wait    string
	Timeout time.Duration
	// Scroll is how many screens to scroll down, each followed by a wait
	// for the page to settle, for pages that load more on scroll.
	Scroll     int
	Screenshot bool
}

// A Result is a rendered page.
type Result struct {
	DOM        []byte // the document as its scripts left it, serialised
	Screenshot []byte // PNG of the viewport, when asked for
	// Settled says the page reached its done condition before its
	// deadline; Note says what happened when it did not.
	Settled bool
	Note    string
	// Navigations are the URLs scripts tried to take the page to; the
	// page stays where it is.
	Navigations []string
	Duration    time.Duration
}

// Stats are a Pool's counts.
type Stats struct {
	Busy     int64         // tabs rendering now
	Rendered int64         // pages rendered
	Failed   int64         // renders that failed (hung, crashed, no browser)
	Restarts int64         // browsers started again after one died or hung
	Time     time.Duration // rendering, in all
}

// A Pool renders pages in one Chromium. It is safe for concurrent use.
type Pool struct {
	opts     Options
	tabs     chan *tab // idle tabs; nil is a tab to open
	mu       sync.Mutex
	b        *instance
	gen      int
	closed   bool
	busy     atomic.Int64
	rendered atomic.Int64
	failed   atomic.Int64
	restarts atomic.Int64
	nanos    atomic.Int64
}

// instance is one running browser.
type instance struct {
	ctx         context.Context // the browser's chromedp context
	cancel      context.CancelFunc
	cancelAlloc context.CancelFunc
}

// Find returns the Chromium executable to use: path when set, else the
// first of chromium, chromium-browser, google-chrome on PATH.
func Find(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("chromium %s: %w", path, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found on PATH (chromium, chromium-browser, google-chrome): install it (Debian: apt-get install chromium) or give --chromium PATH")
}

// Start starts a browser and returns its Pool.
func Start(ctx context.Context, opts Options) (*Pool, error) {
	opts.Tabs = max(opts.Tabs, 1)
	if opts.TabPages <= 0 {
		opts.TabPages = 50
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{opts: opts, tabs: make(chan *tab, opts.Tabs)}
	for range opts.Tabs {
		p.tabs <- nil
	}
	b, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	p.b = b
	return p, nil
}

// start runs a new browser and waits until it answers.
func (p *Pool) start(ctx context.Context) (*instance, error) {
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(p.opts.Path),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		// Nothing the page asks for reaches the network but through the
		// Loader: a request that escapes interception cannot resolve.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("mute-audio", true),
	)
	if p.opts.UserAgent != "" {
		flags = append(flags, chromedp.UserAgent(p.opts.UserAgent))
	}
	if p.opts.MaxMemory > 0 {
		flags = append(flags, chromedp.Flag("js-flags", fmt.Sprintf("--max-old-space-size=%d", max(p.opts.MaxMemory>>20, 16))))
	}
	if os.Geteuid() == 0 { // Chromium's sandbox refuses to run as root
		flags = append(flags, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), flags...)
	logf := func(f string, a ...any) { p.opts.Log.Debug("chromium", "msg", fmt.Sprintf(f, a...)) }
	bctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(logf), chromedp.WithLogf(logf))
	// The first run starts the browser, which lives as long as the
	// context it is given: bctx itself (its wait for the browser is
	// bounded by chromedp's WSURLReadTimeout).
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("%w: %s: %v", ErrNoBrowser, p.opts.Path, err)
	}
	return &instance{ctx: bctx, cancel: cancel, cancelAlloc: cancelAlloc}, nil
}

// stop ends the browser and waits for its processes to exit.
func (b *instance) stop() {
	b.cancel()
	b.cancelAlloc()
}

// browser returns the running browser and its generation.
func (p *Pool) browser() (*instance, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, errors.New("browser: the pool is closed")
	}
	return p.b, p.gen, nil
}

// restart replaces the browser of generation gen (unless that was done
// already) with a new one.
func (p *Pool) restart(ctx context.Context, gen int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || gen != p.gen {
		return nil
	}
	p.b.stop()
	p.restarts.Add(1)
	p.gen++
	b, err := p.start(ctx)
	if err != nil {
		p.closed = true
		return err
	}
	p.b = b
	p.opts.Log.Warn("browser restarted", "restarts", p.restarts.Load())
	return nil
}

// Render renders pg, answering its requests with l. It waits for a free
// tab. A render that hung or crashed returns ErrHung or ErrCrashed, and
// its tab is replaced; a browser that died under it is started again, and
// the page rendered again, once.
func (p *Pool) Render(ctx context.Context, pg *Page, l Loader) (*Result, error) {
	var t *tab
	select {
	case t = <-p.tabs:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.busy.Add(1)
	start := time.Now()
	defer func() {
		p.busy.Add(-1)
		p.nanos.Add(int64(time.Since(start)))
		go p.put(t)
	}()
	var res *Result
	var err error
	for try := 0; try < 2; try++ {
		if t, err = p.tab(ctx, t); err != nil {
			break
		}
		res, err = t.render(ctx, pg, l)
		t.pages++
		var died *exec.ExitError
		if err != nil || t.pages >= p.opts.TabPages || !t.still() {
			t.close()
			gen := t.gen
			t = nil
			if errors.As(err, &died) && ctx.Err() == nil {
				p.opts.Log.Warn("the browser died: restarting it", "error", err)
				if err = p.restart(ctx, gen); err == nil {
					continue
				}
			}
		}
		break
	}
	if err != nil {
		p.failed.Add(1)
		return nil, err
	}
	p.rendered.Add(1)
	res.Duration = time.Since(start)
	return res, nil
}

// settle is how long a tab rests between pages: a request the last page
// made as its scripts were stopped is refused in that time, not given to
// the next page.
const settle = 50 * time.Millisecond

// put returns t to the idle tabs after it rested.
func (p *Pool) put(t *tab) {
	if t != nil {
		time.Sleep(settle)
	}
	p.tabs <- t
}

// tab returns t if it is of the running browser, else a new tab; a
// browser that cannot open one is restarted, once.
func (p *Pool) tab(ctx context.Context, t *tab) (*tab, error) {
	b, gen, err := p.browser()
	if err != nil {
		return nil, err
	}
	if t != nil && t.gen == gen {
		return t, nil
	}
	if t != nil {
		t.close()
	}
	for try := 0; ; try++ {
		t, err := openTab(ctx, b, gen)
		if err == nil || ctx.Err() != nil || try == 1 {
			return t, err
		}
		p.opts.Log.Warn("browser not answering: restarting it", "error", err)
		if err := p.restart(ctx, gen); err != nil {
			return nil, err
		}
		if b, gen, err = p.browser(); err != nil {
			return nil, err
		}
	}
}

// Stats returns the pool's counts.
func (p *Pool) Stats() Stats {
	return Stats{Busy: p.busy.Load(), Rendered: p.rendered.Load(), Failed: p.failed.Load(),
		Restarts: p.restarts.Load(), Time: time.Duration(p.nanos.Load())}
}

// Close ends the browser, and its processes, once the renders under way
// have ended.
func (p *Pool) Close() error {
	for range p.opts.Tabs {
		if t := <-p.tabs; t != nil {
			t.close()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.b.stop()
	}
	return nil
}
