package standin

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Request is one request the stand-in received, forwarded or served.
type Request struct {
	// Seq numbers requests in the order they arrived, from 0 after each ResetLog.
	Seq int
	// Time is when the request arrived.
	Time time.Time
	// Method is the HTTP method.
	Method string
	// Verb is the Kubernetes verb: get, list, watch, create, update, patch, delete,
	// deletecollection (for paths that are not resources: get, create...).
	Verb string
	// Path and Query are the request's URL path and raw query.
	Path  string
	Query string
	// Group, Version, Namespace, Resource, Name and Subresource are parsed from Path; Resource
	// is empty for paths that are not resource requests (discovery, /version...).
	Group       string
	Version     string
	Namespace   string
	Resource    string
	Name        string
	Subresource string
	// User is who the request was forwarded as: "" for the stand-in's own (admin) identity,
	// else the impersonated user, the client certificate's common name, or "bearer" for a
	// request that carried its own token.
	User string
	// Served is true for requests the stand-in answered itself (the KubeVirt subresource API).
	Served bool
	// Code is the HTTP status sent, 0 until a status is sent (and for a connection dropped
	// before any).
	Code int
	// Dropped is true when the stand-in closed the connection without a complete response
	// (an injected drop, or the API server could not be reached).
	Dropped bool
	// Fault is the id of the injected fault applied to the request, 0 for none.
	Fault int
	// Done is true once the stand-in has finished with the request.
	Done bool
	// Duration is how long the stand-in took to answer. For measurements only.
	Duration time.Duration
}

// Key is the request's key in Counts: "VERB RESOURCE CODE", the resource with its
// subresource after a slash ("update virtualmachines/stop 202", "list pods 200"), the path
// in place of the resource for other requests ("get /version 200"), and "dropped" in place
// of the code for a dropped connection.
func (r Request) Key() string {
	what := r.Resource
	if what == "" {
		what = r.Path
	} else if r.Subresource != "" {
		what += "/" + r.Subresource
	}
	code := strconv.Itoa(r.Code)
	if r.Dropped {
		code = "dropped"
	}
	return fmt.Sprintf("%s %s %s", r.Verb, what, code)
}

// requestLog records requests in arrival order.
type requestLog struct {
	mu   sync.Mutex
	reqs []*Request
}

func (l *requestLog) begin(r Request) *Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.Seq = len(l.reqs)
	rec := &r
	l.reqs = append(l.reqs, rec)
	return rec
}

func (l *requestLog) update(rec *Request, f func(*Request)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(rec)
}

func (l *requestLog) snapshot() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Request, len(l.reqs))
	for i, r := range l.reqs {
		out[i] = *r
	}
	return out
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

// Requests returns a copy of the request log in arrival order. Requests still in flight
// have Done false.
func (s *Server) Requests() []Request {
	return s.log.snapshot()
}

// Counts returns how many answered requests the log holds per Request.Key, for example
// {"list pods 200": 3, "update virtualmachines/stop 202": 2}. A request counts once its
// status is sent (a watch as soon as it starts streaming) or its connection dropped; one
// still waiting (an injected delay) does not count yet. The log is written before the client
// sees the answer, so a client's call has always been counted when it returns.
func (s *Server) Counts() map[string]int {
	counts := map[string]int{}
	for _, r := range s.log.snapshot() {
		if r.Code != 0 || r.Dropped {
			counts[r.Key()]++
		}
	}
	return counts
}

// CountMatching returns how many logged requests (complete or not) match.
func (s *Server) CountMatching(match func(Request) bool) int {
	n := 0
	for _, r := range s.log.snapshot() {
		if match(r) {
			n++
		}
	}
	return n
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.log.reset()
}
