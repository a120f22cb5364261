package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"time"

	"github.com/wxfn/wxfn/shared/fn"
)

// HTTPHandler serves f as a plain HTTP handler, exactly as the HTTP mode of Start does. The
// local gateway mounts function NAME at /NAME with http.StripPrefix; the bare /NAME then
// arrives with an empty path, which is served as "/".
//
// It logs through slog.Default() as it is at each request, so a host that installs its logger
// (logging.New) after building its handlers still gets the function and request id on every line.
func HTTPHandler(f fn.Function) http.Handler {
	return &httpAdapter{s: newServer(f, nil)}
}

type httpAdapter struct{ s *server }

func (h *httpAdapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !saneRequestID(id) {
		id = newRequestID()
	}
	path := r.URL.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	req := &fn.Request{
		Method:    r.Method,
		Path:      path,
		Query:     r.URL.Query(),
		Header:    r.Header,
		Cookies:   r.Cookies(),
		RequestID: id,
		SourceIP:  remoteIP(r.RemoteAddr),
	}
	var readErr error
	req.Body, readErr = readBody(w, r, h.s.limit)

	ctx, cancel := context.WithTimeout(r.Context(), h.s.timeout)
	defer cancel()
	resp := h.s.serve(ctx, req, readErr)
	writeResponse(w, resp, id)
}

// readBody reads at most limit bytes of r's body. A larger body is refused without reading it
// when its length is declared, and as soon as it exceeds the bound otherwise.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1 so that ReadAll sees EOF without growing.
	}
	b, err := readAll(http.MaxBytesReader(w, r.Body, limit), size)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(limit)
		}
		return nil, &fn.Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "the request body could not be read", Cause: err}
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

func readAll(r io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// writeResponse writes resp with Set-Cookie headers for its cookies and x-request-id.
func writeResponse(w http.ResponseWriter, resp *fn.Response, requestID string) {
	h := w.Header()
	for k, vs := range resp.Header {
		// Copy: the handler may reuse its header values, and Add below appends.
		h[textproto.CanonicalMIMEHeaderKey(k)] = append([]string(nil), vs...)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("X-Request-Id", requestID)
	st := resp.Status
	if st == 0 {
		st = http.StatusOK
	}
	w.WriteHeader(st)
	if len(resp.Body) > 0 {
		_, _ = w.Write(resp.Body) // A client gone away is not our error.
	}
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// serveHTTP serves s on ln until ctx is done, then shuts down gracefully: the listener closes at
// once and requests in flight get up to shutdownGrace to finish.
func serveHTTP(ctx context.Context, s *server, ln net.Listener) error {
	srv := &http.Server{
		Handler:           &httpAdapter{s: s},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("runtime: http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("runtime: http shutdown: %w", err)
	}
	return nil
}

// shutdownGrace is how long requests in flight may take after SIGTERM; SCF and container
// platforms kill the process not long after.
const shutdownGrace = 5 * time.Second
