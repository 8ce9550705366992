// Package source reads the detector's input, a detector.ClusterState, either from files (a
// cluster dump: YAML or JSON documents, Lists, directories) or from a live cluster (a handful of
// paginated LIST requests). It only reads: it never decides anything about the VMs (that is
// package detector) and never changes the cluster.
//
// Errors carry the contract's exit statuses through package exitstatus: bad input (an unreadable
// file, a malformed document, an unknown node) is 2, a cluster that cannot be asked is 3.
package source
