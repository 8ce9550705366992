package standin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Fault is a failure the stand-in injects into the requests that match it. Every non-empty
// matching field must match (Method, Verb, Group, Resource, Subresource, Namespace, Name,
// PathContains, Match); a Fault with none matches every request. Faults apply to forwarded
// requests and to the ones the stand-in serves alike.
//
// What happens to a matching request, in this order: it waits Delay (or until the client
// gives up); then, with Drop, its connection is closed (at once, or after DropAfterBytes bytes
// of the real response); else, with Status, it gets that status with a metav1.Status body (or
// Body) and never reaches the API server; else it proceeds normally.
type Fault struct {
	Method       string
	Verb         string
	Group        string
	Resource     string
	Subresource  string
	Namespace    string
	Name         string
	PathContains string
	// Match, when set, must also return true.
	Match func(Request) bool

	// Times is how many matching requests the fault hits; 0 hits them all until removed.
	Times int

	// Delay holds the request back before anything else happens.
	Delay time.Duration
	// Drop closes the connection without a (complete) response.
	Drop bool
	// DropAfterBytes, with Drop, lets that many bytes of the real response through first (a
	// LIST cut in the middle of its body).
	DropAfterBytes int
	// Status is the HTTP status to reply with, for example 500, 429 or 409.
	Status int
	// Message is the Status body's message; a default names the injected code.
	Message string
	// RetryAfter is sent as the Retry-After header (seconds); it also fills the Status
	// details' retryAfterSeconds when it is a number.
	RetryAfter string
	// Body, when set, is sent instead of a metav1.Status (as application/json).
	Body []byte
}

func (f *Fault) matches(r Request) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(f.Method, r.Method) && eq(f.Verb, r.Verb) && eq(f.Group, r.Group) &&
		eq(f.Resource, r.Resource) && eq(f.Subresource, r.Subresource) &&
		eq(f.Namespace, r.Namespace) && eq(f.Name, r.Name) &&
		(f.PathContains == "" || strings.Contains(r.Path, f.PathContains)) &&
		(f.Match == nil || f.Match(r))
}

type faultRule struct {
	id    int
	fault Fault
	hits  int
}

type faultSet struct {
	mu     sync.Mutex
	nextID int
	rules  []*faultRule
}

// take returns the first rule that matches r and still has hits left, counting the hit.
func (fs *faultSet) take(r Request) (int, *Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, rule := range fs.rules {
		if rule.fault.Times > 0 && rule.hits >= rule.fault.Times {
			continue
		}
		if !rule.fault.matches(r) {
			continue
		}
		rule.hits++
		f := rule.fault
		return rule.id, &f
	}
	return 0, nil
}

// InjectFault adds a fault and returns its id. Faults are tried in the order they were added;
// the first that matches a request (and has hits left) applies to it.
func (s *Server) InjectFault(f Fault) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.nextID++
	s.faults.rules = append(s.faults.rules, &faultRule{id: s.faults.nextID, fault: f})
	return s.faults.nextID
}

// RemoveFault removes one fault.
func (s *Server) RemoveFault(id int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, rule := range s.faults.rules {
		if rule.id == id {
			s.faults.rules = append(s.faults.rules[:i], s.faults.rules[i+1:]...)
			return
		}
	}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules = nil
}

// FaultHits returns how many requests fault id has hit so far (0 for an unknown id).
func (s *Server) FaultHits(id int) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for _, rule := range s.faults.rules {
		if rule.id == id {
			return rule.hits
		}
	}
	return 0
}

// sleepCtx waits d or until ctx ends; it reports whether the full delay passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// faultStatus builds the metav1.Status an injected status fault replies with.
func faultStatus(f *Fault, r Request) *metav1.Status {
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("injected fault: HTTP %d for %s %s", f.Status, r.Method, r.Path)
	}
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure,
		Code:     int32(f.Status),
		Reason:   reasonForCode(f.Status),
		Message:  msg,
	}
	if r.Resource != "" || f.RetryAfter != "" {
		st.Details = &metav1.StatusDetails{Name: r.Name, Group: r.Group, Kind: r.Resource}
		if secs, err := strconv.Atoi(f.RetryAfter); err == nil {
			st.Details.RetryAfterSeconds = int32(secs)
		}
	}
	return st
}

// reasonForCode is the StatusReason kube-apiserver uses with each HTTP status.
func reasonForCode(code int) metav1.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return metav1.StatusReasonUnauthorized
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	case http.StatusNotFound:
		return metav1.StatusReasonNotFound
	case http.StatusMethodNotAllowed:
		return metav1.StatusReasonMethodNotAllowed
	case http.StatusConflict:
		return metav1.StatusReasonConflict
	case http.StatusGone:
		return metav1.StatusReasonExpired
	case http.StatusRequestEntityTooLarge:
		return metav1.StatusReasonRequestEntityTooLarge
	case http.StatusUnsupportedMediaType:
		return metav1.StatusReasonUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return metav1.StatusReasonInvalid
	case http.StatusTooManyRequests:
		return metav1.StatusReasonTooManyRequests
	case http.StatusInternalServerError:
		return metav1.StatusReasonInternalError
	case http.StatusServiceUnavailable:
		return metav1.StatusReasonServiceUnavailable
	case http.StatusGatewayTimeout:
		return metav1.StatusReasonTimeout
	}
	return metav1.StatusReasonUnknown
}

// errDropped is what a recordingWriter's Write returns once it has cut the connection.
var errDropped = errors.New("connection dropped by an injected fault")

// recordingWriter remembers the status code sent and can cut the connection after a number
// of body bytes. It logs the status before the client can see it, and a drop before the
// connection closes, so that a client never observes a response the log does not hold yet.
type recordingWriter struct {
	http.ResponseWriter
	log       *requestLog
	rec       *Request
	code      int
	written   int
	dropAfter int // 0: never
	dropped   bool
}

func (w *recordingWriter) setCode(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	w.log.update(w.rec, func(q *Request) { q.Code = code })
}

func (w *recordingWriter) WriteHeader(code int) {
	w.setCode(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.dropped {
		return 0, errDropped
	}
	w.setCode(http.StatusOK)
	if w.dropAfter > 0 && w.written+len(p) >= w.dropAfter {
		n, _ := w.ResponseWriter.Write(p[:w.dropAfter-w.written])
		w.written += n
		w.drop()
		return n, errDropped
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += n
	return n, err
}

// Flush sends what was written so far (watches and large lists stream).
func (w *recordingWriter) Flush() {
	if w.dropped {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// drop flushes what was written and closes the connection under the response.
func (w *recordingWriter) drop() {
	if w.dropped {
		return
	}
	w.dropped = true
	w.log.update(w.rec, func(q *Request) { q.Dropped = true })
	rc := http.NewResponseController(w.ResponseWriter)
	if w.code != 0 {
		// Send what the handler wrote; with no status yet, send nothing at all.
		_ = rc.Flush()
	}
	conn, buf, err := rc.Hijack()
	if err != nil {
		return
	}
	closeHijacked(conn, buf)
}

func closeHijacked(conn net.Conn, buf *bufio.ReadWriter) {
	if buf != nil {
		_ = buf.Flush()
	}
	if tcp, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = tcp.CloseWrite()
	}
	_ = conn.Close()
}
