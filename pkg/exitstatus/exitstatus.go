package exitstatus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The contract's exit statuses.
const (
	// OK means done: the detector ran, the guard allowed the path, every stop/start succeeded.
	OK = 0
	// No means the answer is no, or an action partly failed.
	No = 1
	// Usage means bad usage or input.
	Usage = 2
	// Cluster means the cluster could not be asked.
	Cluster = 3
)

// Error is an error that knows the exit status it should end the process with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// WithCode wraps err so that Code reports code for it. A nil err stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef returns a bad-usage or bad-input error (exit status 2).
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// Rejectedf returns an error for a "no" answer or a partly failed action (exit status 1).
func Rejectedf(format string, args ...any) error {
	return &Error{Code: No, Err: fmt.Errorf(format, args...)}
}

// Clusterf returns an error for a cluster that could not be asked (exit status 3).
func Clusterf(format string, args ...any) error {
	return &Error{Code: Cluster, Err: fmt.Errorf(format, args...)}
}

// Code returns the exit status for err: 0 for nil, the code of the outermost *Error in its
// chain, the classification of ForAPIError for a Kubernetes API or network error, and 1
// otherwise.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var coded *Error
	if errors.As(err, &coded) {
		return coded.Code
	}
	if IsClusterUnreachable(err) {
		return Cluster
	}
	return No
}

// IsClusterUnreachable reports whether err means the API server could not be asked or would not
// answer: a network failure, a timeout, an authentication or authorization failure, or a
// server-side error.
func IsClusterUnreachable(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case apierrors.IsUnauthorized(err), apierrors.IsForbidden(err),
		apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsServiceUnavailable(err),
		apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}

// NotAsked is true when a request failed because the cluster would not or could not take it
// at all: not authenticated, not allowed, or not reachable in time. A server that answered
// with an error of its own (a conflict, a 5xx after the retries) was asked: the action itself
// failed.
func NotAsked(err error) bool {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsTimeout(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	return IsClusterUnreachable(err)
}

// ForAPIError gives an error from the Kubernetes API its exit status: a missing object that the
// user named is bad input (2); an unreachable, unauthorized, forbidden or failing server, a
// resource the server does not serve (404 without a name) and a request it rejects as
// malformed or invalid (400, 422) are 3; anything else is 1. what names the request for the
// message, such as "get upgrade cloudweav-system/u1".
func ForAPIError(err error, what string) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("%s: %w", what, err)
	switch {
	case apierrors.IsNotFound(err) && namesObject(err):
		return WithCode(Usage, wrapped)
	case apierrors.IsNotFound(err):
		// No object was named (a LIST, a discovery path): the server does not serve the
		// resource at all.
		return WithCode(Cluster, fmt.Errorf("%w (the API server does not serve this resource: check that KubeVirt and Cloudweav's CRDs are installed)", wrapped))
	case apierrors.IsBadRequest(err), apierrors.IsInvalid(err):
		return WithCode(Cluster, fmt.Errorf("%w (the API server rejected the request: check that its version and CRDs are the ones this tool supports)", wrapped))
	case apierrors.IsUnauthorized(err):
		return WithCode(Cluster, fmt.Errorf("%w (check the kubeconfig's credentials)", wrapped))
	case apierrors.IsForbidden(err):
		return WithCode(Cluster, fmt.Errorf("%w (check the RBAC role bound to this user, see deploy/rbac.yaml)", wrapped))
	case IsClusterUnreachable(err):
		return WithCode(Cluster, fmt.Errorf("%w (check that the API server is reachable and healthy)", wrapped))
	}
	return WithCode(No, wrapped)
}

// namesObject is true for an API error about one named object (its Status details carry the
// name), as a GET of a missing object gives.
func namesObject(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	details := status.Status().Details
	return details != nil && details.Name != ""
}

// ForFailedActions is the error for a batch of actions on VMs (stops, starts) of which those
// in failures failed, each with its cause (which may be nil). When every cause is the cluster
// not being asked (NotAsked: forbidden, unauthorized, unreachable), the exit status is 3 and
// the first cause is explained with ForAPIError's hint; otherwise it is 1, since the cluster
// answered and the VMs simply failed. It returns nil for no failures.
func ForFailedActions(done, request string, failures map[string]error) error {
	if len(failures) == 0 {
		return nil
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err := fmt.Errorf("%d VM(s) could not be %s: %v", len(keys), done, keys)
	for _, k := range keys {
		if cause := failures[k]; cause == nil || !NotAsked(cause) {
			return WithCode(No, err)
		}
	}
	return WithCode(Cluster, errors.Join(err, ForAPIError(failures[keys[0]], request)))
}
