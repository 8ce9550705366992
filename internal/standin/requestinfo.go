package standin

import (
	"net/http"
	"net/url"
	"strings"
)

// Kubernetes request verbs, as RBAC names them.
const (
	VerbGet              = "get"
	VerbList             = "list"
	VerbWatch            = "watch"
	VerbCreate           = "create"
	VerbUpdate           = "update"
	VerbPatch            = "patch"
	VerbDelete           = "delete"
	VerbDeleteCollection = "deletecollection"
)

// requestInfo is what a request's method and URL say about it: the Kubernetes verb and, for a
// resource request, its group, version, namespace, resource, name and subresource. Paths that
// are not resource requests (discovery, /version, /healthz) leave Resource empty.
type requestInfo struct {
	Verb        string
	Group       string
	Version     string
	Namespace   string
	Resource    string
	Name        string
	Subresource string
}

// parseRequest reads a request's method and URL the way kube-apiserver's request-info
// resolver does, closely enough for counting and matching requests.
func parseRequest(method string, u *url.URL) requestInfo {
	var info requestInfo
	parts := splitPath(u.Path)
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		info.Version, rest = parts[1], parts[2:]
	case len(parts) >= 2 && parts[0] == "apis":
		info.Group, rest = parts[1], parts[2:]
		if len(rest) > 0 {
			info.Version, rest = rest[0], rest[1:]
		}
	}
	if len(rest) == 0 {
		// Not a resource request: discovery, /version, /healthz...
		info.Verb = nonResourceVerb(method)
		return info
	}
	watch := false
	if rest[0] == "watch" && len(rest) > 1 {
		watch, rest = true, rest[1:]
	}
	if rest[0] == "namespaces" && len(rest) >= 3 {
		info.Namespace, rest = rest[1], rest[2:]
	}
	info.Resource = rest[0]
	if len(rest) > 1 {
		info.Name = rest[1]
	}
	if len(rest) > 2 {
		info.Subresource = strings.Join(rest[2:], "/")
	}
	if v := u.Query().Get("watch"); v == "true" || v == "1" {
		watch = true
	}
	info.Verb = resourceVerb(method, info.Name != "", watch)
	return info
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func resourceVerb(method string, named, watch bool) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case watch:
			return VerbWatch
		case named:
			return VerbGet
		default:
			return VerbList
		}
	case http.MethodPost:
		return VerbCreate
	case http.MethodPut:
		return VerbUpdate
	case http.MethodPatch:
		return VerbPatch
	case http.MethodDelete:
		if named {
			return VerbDelete
		}
		return VerbDeleteCollection
	}
	return strings.ToLower(method)
}

func nonResourceVerb(method string) string {
	// A path that is not a resource is authorised like a named one: GET is get, DELETE delete.
	return resourceVerb(method, true, false)
}
