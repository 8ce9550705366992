// Package record keeps the restore record of the contract: the ConfigMap
// "<upgrade name>-restore-vm" in cloudweav-system, owned by the Upgrade, whose data[<node name>]
// is the comma-separated namespace/name list of the VMs the upgrade stopped on that node and
// must start again.
//
// The record only grows while an upgrade runs: Add merges the VMs it is given with what an
// earlier run wrote (a rerun no longer sees the VMs it stopped, and must not drop them), and
// concurrent runs for different nodes, which share the ConfigMap, each retry on conflict so that
// neither loses the other's entry. The merge and parse functions are pure; the rest reads and
// writes the ConfigMap.
package record
