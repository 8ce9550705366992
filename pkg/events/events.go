package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
)

// The contract's event reasons.
const (
	ReasonRestoreVMConfigMapCreated = "RestoreVMConfigMapCreated"
	ReasonRestoreVMConfigMapFailed  = "RestoreVMConfigMapFailed"
	ReasonVMShutdownCompleted       = "VMShutdownCompleted"
	ReasonVMShutdownFailed          = "VMShutdownFailed"
	ReasonRestoreVMCompleted        = "RestoreVMCompleted"
	ReasonRestoreVMFailed           = "RestoreVMFailed"
)

// Component is the event source.
const Component = "upgrade-helper"

// Recorder writes events about one Upgrade. A nil *Recorder writes nothing, so callers
// without --upgrade need no special case.
type Recorder struct {
	Kube    kubernetes.Interface
	Upgrade *cloudweavv1beta1.Upgrade
	// Host is the node or machine the tool runs for, recorded as the event's source host.
	Host string

	mu        sync.Mutex
	permanent error
}

// Err returns the first event write that failed for good (not allowed, not authenticated,
// rejected): events are part of the contract, so a command that could not write them says so
// in its exit status once its work is done.
func (r *Recorder) Err() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.permanent
}

var transientBackoff = wait.Backoff{Steps: 5, Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.3}

// Normal records a Normal event.
func (r *Recorder) Normal(ctx context.Context, reason, message string) error {
	return r.record(ctx, corev1.EventTypeNormal, reason, message)
}

// Warning records a Warning event.
func (r *Recorder) Warning(ctx context.Context, reason, message string) error {
	return r.record(ctx, corev1.EventTypeWarning, reason, message)
}

func (r *Recorder) record(ctx context.Context, eventType, reason, message string) error {
	if r == nil || r.Upgrade == nil {
		return nil
	}
	now := metav1.NewTime(time.Now())
	up := r.Upgrade
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: up.Namespace,
			Name:      fmt.Sprintf("%s.%x%s", up.Name, now.UnixNano(), rand.String(4)),
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion:      cloudweavv1beta1.SchemeGroupVersion.String(),
			Kind:            "Upgrade",
			Namespace:       up.Namespace,
			Name:            up.Name,
			UID:             up.UID,
			ResourceVersion: up.ResourceVersion,
		},
		Reason:              reason,
		Message:             message,
		Type:                eventType,
		Source:              corev1.EventSource{Component: Component, Host: r.Host},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: Component,
		ReportingInstance:   Component + "-" + r.Host,
	}
	err := retry.OnError(transientBackoff, isTransient, func() error {
		_, err := r.Kube.CoreV1().Events(up.Namespace).Create(ctx, ev, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		err = fmt.Errorf("record event %s on upgrade %s/%s: %w", reason, up.Namespace, up.Name, err)
		if !isTransient(err) {
			r.mu.Lock()
			if r.permanent == nil {
				r.permanent = err
			}
			r.mu.Unlock()
		}
		return err
	}
	return nil
}

func isTransient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}
