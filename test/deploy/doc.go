// Package deploy holds the integration tests of the manifests under deploy/: every document
// of every file there must be accepted by a real kube-apiserver (server-side dry run with
// strict field validation), the example Jobs must call the CLI as it parses today, and the
// RBAC of deploy/rbac.yaml must grant each subcommand exactly the requests it makes. It has no
// code of its own.
package deploy
