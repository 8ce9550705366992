// Package cli tests how upgrade-helper fits the shell and kubectl: the shell completion scripts
// cobra generates (completion bash|zsh|fish|powershell, and the __complete requests they
// make), and the kubectl plugin naming (a binary installed as kubectl-upgrade_helper calls
// itself "kubectl upgrade-helper" in help and usage). The tests run the command tree
// in-process; they need no cluster. The CLI reference's own test is in hack/gendocs.
package cli
