package record

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	cloudweavv1beta1 "github.com/cloudweav/upgrade-helper/pkg/apis/cloudweavhci/v1beta1"
)

// conflictBackoff bounds the retries of a record update that keeps meeting other writers: many
// nodes' runs may touch the same ConfigMap at once.
var conflictBackoff = wait.Backoff{Steps: 12, Duration: 20 * time.Millisecond, Factor: 1.6, Jitter: 0.5, Cap: 2 * time.Second}

// Store reads and writes restore records.
type Store struct {
	Kube kubernetes.Interface
}

// Result says what Add did.
type Result struct {
	// Created is true when Add created the ConfigMap.
	Created bool
	// Changed is true when the node's entry was written (created or grew).
	Changed bool
	// Entry is the node's entry after Add: every VM recorded for the node, sorted.
	Entry []string
}

// Add records vms (namespace/name) as stopped by upgrade on node, keeping whatever the record
// already holds for that node and for every other node. It creates the ConfigMap, owned by the
// Upgrade, when it does not exist, and retries on conflict with concurrent writers.
func (s Store) Add(ctx context.Context, upgrade *cloudweavv1beta1.Upgrade, node string, vms []string) (Result, error) {
	var res Result
	name := ConfigMapName(upgrade.Name)
	cms := s.Kube.CoreV1().ConfigMaps(upgrade.Namespace)
	err := retry.OnError(conflictBackoff, isRetriableWriteError, func() error {
		res = Result{}
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			entry, _ := MergeEntry("", vms)
			cm = newConfigMap(upgrade, name)
			cm.Data[node] = entry
			if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				return err
			}
			res = Result{Created: true, Changed: true, Entry: ParseEntry(entry)}
			return nil
		}
		if err != nil {
			return err
		}
		entry, changed := MergeEntry(cm.Data[node], vms)
		res.Entry = ParseEntry(entry)
		if _, present := cm.Data[node]; present && !changed {
			return nil
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[node] = entry
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return err
		}
		res.Changed = true
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("write restore record %s/%s for node %s: %w", upgrade.Namespace, name, node, err)
	}
	return res, nil
}

// isRetriableWriteError is true for a conflict with another writer and for a create that lost
// the race to create the ConfigMap.
func isRetriableWriteError(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

// Read returns node's entry in upgradeName's record in namespace, and whether the ConfigMap exists.
func (s Store) Read(ctx context.Context, namespace, upgradeName, node string) ([]string, bool, error) {
	name := ConfigMapName(upgradeName)
	cm, err := s.Kube.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read restore record %s/%s: %w", namespace, name, err)
	}
	return ParseEntry(cm.Data[node]), true, nil
}

func newConfigMap(upgrade *cloudweavv1beta1.Upgrade, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: upgrade.Namespace,
			Name:      name,
			Labels:    map[string]string{"cloudweavhci.io/upgrade": upgrade.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: cloudweavv1beta1.SchemeGroupVersion.String(),
				Kind:       "Upgrade",
				Name:       upgrade.Name,
				UID:        upgrade.UID,
			}},
		},
		Data: map[string]string{},
	}
}
