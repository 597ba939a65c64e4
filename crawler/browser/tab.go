package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// callTimeout bounds one command to a tab outside a render's own
// deadline: a tab that takes longer is taken as hung.
const callTimeout = 5 * time.Second

// tab is one browser tab, in a browser context of its own (cookies,
// storage and renderer processes apart from the other tabs').
type tab struct {
	ctx    context.Context // its chromedp context
	cancel context.CancelFunc
	gen    int // of the browser it is in
	frame  cdp.FrameID
	pages  int
	last   string                 // the URL of the page before this one
	state  atomic.Pointer[render] // of the page rendering now
	gone   atomic.Bool            // closed by the page, or crashed
}

// openTab opens a tab in b, with every request it makes intercepted.
func openTab(ctx context.Context, b *instance, gen int) (*tab, error) {
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t := &tab{ctx: tctx, cancel: cancel, gen: gen}
	// The first call opens the tab, which lives as long as the context
	// it is given: tctx itself, whose cancel closes it after a timeout.
	timer := time.AfterFunc(2*callTimeout, cancel)
	defer timer.Stop()
	stopWith := context.AfterFunc(ctx, cancel)
	defer stopWith()
	err := chromedp.Listen(tctx, t.event)
	octx := tctx
	if err == nil {
		_, err = chromedp.Call(octx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*", RequestStage: fetch.RequestStageRequest}}})
	}
	if err == nil {
		_, err = chromedp.Call(octx, page.Enable, page.EnableParams{})
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%w: opening a tab: %v", ErrNoBrowser, err)
	}
	t.frame = cdp.FrameID(chromedp.FromContext(tctx).Target.TargetID) // a page's main frame has its target's id
	return t, nil
}

// close closes the tab; its renderer, when no other tab uses it, exits.
func (t *tab) close() {
	t.state.Store(nil)
	t.cancel()
}

// still stops the scripts of the page the tab holds, at once, and reports
// whether it answered; render starts them again for the next page.
func (t *tab) still() bool {
	return !t.gone.Load() && t.scripts(false) == nil
}

// scripts turns the page's scripts on or off.
func (t *tab) scripts(on bool) error {
	ctx, cancel := context.WithTimeout(t.ctx, callTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
	return err
}

// event is the tab's listener: it runs on the loop that reads the tab's
// messages, so it hands all work to goroutines.
func (t *tab) event(ev any) {
	r := t.state.Load()
	switch e := ev.(type) {
	case *fetch.EventRequestPaused:
		if r == nil {
			go t.fail(e.RequestID, network.ErrorReasonAborted)
			return
		}
		r.begin()
		go r.answer(e)
	case *page.EventLoadEventFired:
		if r != nil {
			r.loaded.Store(true)
		}
	case *inspector.EventTargetCrashed:
		t.gone.Store(true)
		if r != nil {
			r.crash()
		}
	case *inspector.EventDetached:
		t.gone.Store(true)
	}
}

// fail fails a paused request.
func (t *tab) fail(id fetch.RequestID, why network.ErrorReason) {
	ctx, cancel := context.WithTimeout(t.ctx, callTimeout)
	defer cancel()
	chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: why})
}

// render is one page's render in a tab.
type render struct {
	t        *tab
	ctx      context.Context // ends at the page's deadline
	pg       *Page
	prev     string // the URL of the tab's page before this one
	l        Loader
	loaded   atomic.Bool
	crashed  chan struct{}
	crashing sync.Once
	mu       sync.Mutex
	inflight int
	last     time.Time // of the last request begun or answered
	served   bool      // the document has been answered
	navs     []string
}

func (r *render) crash() { r.crashing.Do(func() { close(r.crashed) }) }

func (r *render) begin() {
	r.mu.Lock()
	r.inflight++
	r.last = time.Now()
	r.mu.Unlock()
}

func (r *render) end() {
	r.mu.Lock()
	r.inflight--
	r.last = time.Now()
	r.mu.Unlock()
}

// quiet reports whether the page has loaded and made no request for d.
func (r *render) quiet(d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loaded.Load() && r.inflight == 0 && time.Since(r.last) >= d
}

// answer answers one paused request: the document from the page as
// fetched, another navigation of the page by refusing it, anything else
// from the Loader. A request before the document, or one the last page
// refers to, is the last page's, and refused.
func (r *render) answer(e *fetch.EventRequestPaused) {
	defer r.end()
	req := request(e)
	var resp *Response
	r.mu.Lock()
	stale := !r.served && (e.ResourceType != network.ResourceTypeDocument || e.FrameID != r.t.frame) ||
		r.prev != "" && r.prev != r.pg.URL && req.Header.Get("Referer") == r.prev
	r.mu.Unlock()
	switch {
	case stale: // the last page's, asked for as it went
		r.t.fail(e.RequestID, network.ErrorReasonAborted)
		return
	case e.ResourceType == network.ResourceTypeDocument && e.FrameID == r.t.frame:
		r.mu.Lock()
		first := !r.served
		r.served = true
		if !first && len(r.navs) < 100 {
			r.navs = append(r.navs, req.URL)
		}
		r.mu.Unlock()
		if !first {
			r.t.fail(e.RequestID, network.ErrorReasonAborted)
			return
		}
		resp = &Response{Status: r.pg.Status, Header: r.pg.Header, Body: r.pg.Body}
	default:
		resp = r.l.Load(r.ctx, req)
	}
	if resp.Err != nil {
		why := network.ErrorReasonFailed
		if resp.Blocked {
			why = network.ErrorReasonBlockedByClient
		}
		r.t.fail(e.RequestID, why)
		return
	}
	ctx, cancel := context.WithTimeout(r.t.ctx, callTimeout)
	defer cancel()
	chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
		RequestID: e.RequestID, ResponseCode: int64(resp.Status), ResponseHeaders: headers(resp.Header), Body: resp.Body,
	})
}

// request is the Request of a paused one.
func request(e *fetch.EventRequestPaused) *Request {
	req := &Request{URL: e.Request.URL, Method: e.Request.Method, Header: http.Header{}, Type: string(e.ResourceType)}
	for k, v := range e.Request.Headers {
		if s, ok := v.(string); ok {
			req.Header.Set(k, s)
		}
	}
	for _, p := range e.Request.PostDataEntries {
		req.Body = append(req.Body, p.Bytes...)
	}
	return req
}

// headers are h as CDP takes them, without the headers of the wire
// encoding (the body is given decoded).
func headers(h http.Header) []*fetch.HeaderEntry {
	out := make([]*fetch.HeaderEntry, 0, len(h))
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Encoding", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive":
			continue
		}
		for _, v := range vs {
			out = append(out, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	return out
}

// render renders pg in the tab.
func (t *tab) render(ctx context.Context, pg *Page, l Loader) (*Result, error) {
	rctx, cancel := context.WithTimeout(t.ctx, pg.Timeout)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	r := &render{t: t, ctx: rctx, pg: pg, prev: t.last, l: l, crashed: make(chan struct{}), last: time.Now()}
	if err := t.scripts(true); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHung, err)
	}
	t.state.Store(r)
	defer func() {
		t.state.Store(nil)
		t.last = pg.URL
	}()
	nav, err := chromedp.Call(rctx, page.Navigate, page.NavigateParams{URL: pg.URL})
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && rctx.Err() == nil:
		return nil, fmt.Errorf("%w: %w", ErrHung, err)
	case err == nil && nav.ErrorText != "":
		return nil, fmt.Errorf("the browser could not load the page: %s", nav.ErrorText)
	}
	res := &Result{Settled: r.settle(pg.Idle, pg.Wait)}
	for i := 0; i < pg.Scroll && res.Settled; i++ {
		if err := t.eval(rctx, `window.scrollBy(0, window.innerHeight)`, nil); err != nil {
			break
		}
		r.begin()
		r.end()
		res.Settled = r.settle(pg.Idle, "")
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	select {
	case <-r.crashed:
		return nil, ErrCrashed
	default:
	}
	if !res.Settled {
		res.Note = fmt.Sprintf("the page had not settled after %s: taken as it was then", pg.Timeout)
	}
	var dom string
	if err := t.eval(t.ctx, serialise, &dom); err != nil {
		return nil, err
	}
	res.DOM = []byte(dom)
	if pg.Screenshot {
		sctx, cancel := context.WithTimeout(t.ctx, 2*callTimeout)
		defer cancel()
		if res.Screenshot, err = chromedp.Run(sctx, chromedp.CaptureScreenshot()); err != nil {
			return nil, fmt.Errorf("%w: screenshot: %w", ErrHung, err)
		}
	}
	r.mu.Lock()
	res.Navigations = r.navs
	r.mu.Unlock()
	return res, nil
}

// serialise is the document as its scripts left it, doctype included.
const serialise = `(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\n" : "") + document.documentElement.outerHTML`

// eval evaluates js in the page, into out when not nil, within
// callTimeout of ctx: a page that does not answer by then is hung.
func (t *tab) eval(ctx context.Context, js string, out *string) error {
	ectx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var err error
	if out != nil {
		*out, err = chromedp.Run(ectx, chromedp.Evaluate[string](js))
	} else {
		_, err = chromedp.Run(ectx, chromedp.Evaluate[chromedp.Void](js))
	}
	var ex *chromedp.ExceptionError
	switch {
	case err == nil, errors.As(err, &ex):
		return err
	case t.gone.Load():
		return ErrCrashed
	default:
		return fmt.Errorf("%w: %w", ErrHung, err)
	}
}

// settle waits until the page is done (quiet for idle, or with an
// element matching wait), or its deadline, and reports whether it was
// done.
func (r *render) settle(idle time.Duration, wait string) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	probe := ""
	if wait != "" {
		sel, _ := json.Marshal(wait)
		probe = fmt.Sprintf(`document.querySelector(%s) !== null ? "yes" : ""`, sel)
	}
	for {
		select {
		case <-r.ctx.Done():
			return false
		case <-r.crashed:
			return false
		case <-tick.C:
		}
		if probe == "" {
			if r.quiet(idle) {
				return true
			}
			continue
		}
		var found string
		if err := r.t.eval(r.ctx, probe, &found); err == nil && strings.TrimSpace(found) != "" {
			return true
		}
	}
}
