// Package crawltest has helpers for testing jobs: a transport that serves
// requests from an in-process handler. It imports net/http/httptest, so
// production code does not import it.
package crawltest

import (
	"net/http"
	"net/http/httptest"
)

// HandlerTransport returns a RoundTripper that serves every request with h
// in the same process, with no sockets: a job can be tested against an
// http.Handler. Responses are buffered whole.
func HandlerTransport(h http.Handler) http.RoundTripper {
	return handlerTransport{h}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
