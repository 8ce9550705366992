package record

import (
	"sort"
	"strings"
)

// NameSuffix is appended to the Upgrade's name to name its restore record.
const NameSuffix = "-restore-vm"

// ConfigMapName returns the name of the restore record of the upgrade.
func ConfigMapName(upgradeName string) string { return upgradeName + NameSuffix }

// ParseEntry splits a node's entry into its namespace/name keys, dropping blanks and duplicates,
// sorted.
func ParseEntry(entry string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, part := range strings.Split(entry, ",") {
		key := strings.TrimSpace(part)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// MergeEntry returns the entry holding every key of entry and every key of add, sorted and
// without duplicates, and whether that differs from entry.
func MergeEntry(entry string, add []string) (string, bool) {
	merged := ParseEntry(entry + "," + strings.Join(add, ","))
	out := strings.Join(merged, ",")
	return out, out != entry
}
