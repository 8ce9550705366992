// Package shutdown stops the VMs that the detector found unable to leave their node, as the
// upgrade needs before the node is drained. It is the tool's main write to a production
// cluster, so it works in a fixed, safe order:
//
//  1. Plan (pure): which VMs to stop, which of them to record for restore-vm, and which cannot
//     be handled (a VMI that no VirtualMachine owns).
//  2. With an Upgrade: write the restore record (package record) before any VM is stopped. If
//     it cannot be written, nothing is stopped.
//  3. Stop through KubeVirt's stop subresource, in parallel up to a bound. A VM that is already
//     stopped counts as done; one failure does not stop the others. Once the context is
//     cancelled (SIGINT, SIGTERM) no new stop starts; stops in flight finish.
//  4. With an Upgrade: a Warning event per failed stop and one completion event with counts.
//  5. Optionally wait until each stopped VM's VMI is gone.
package shutdown
