// Package exitstatus carries the contract's exit statuses inside errors, so that library and
// command code can say what kind of failure happened and only main turns an error into a
// process exit status:
//
//	0 done, 1 the answer is no or an action partly failed, 2 bad usage or input,
//	3 the cluster could not be asked.
//
// Errors from the Kubernetes API that carry no status of their own are classified by
// ForAPIError.
package exitstatus
