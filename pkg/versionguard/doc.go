// Package versionguard decides whether a Cloudweav upgrade path is allowed. It is pure: it reads
// no cluster, no file and no flag. The command (pkg/cmd) gathers the current version, the target
// version and the minimum upgradable version, and this package classifies them (dev, prerelease
// or formal release, as the contract defines), applies the guard's rules in their fixed order and
// explains the answer.
//
// The rules, in order; the first that applies decides:
//
//  1. RuleTargetDev: the target is a dev version: allowed.
//  2. RuleCurrentDev: the current version is a dev version: rejected in strict mode, allowed otherwise.
//  3. RuleSameVersion: current and target are the same version: allowed.
//  4. RuleDowngrade: the target is lower than the current version: rejected.
//  5. RuleBelowMinimum: a minimum is set and the current version is lower than it: rejected.
//  6. RulePrereleaseCrossRelease: the current version is a prerelease and the target belongs to
//     another release (major.minor.patch differ): rejected.
//  7. RuleAllowed: anything else: allowed.
//
// Versions compare by semantic version precedence: a prerelease is lower than its release, and
// neither the leading "v" nor build metadata matter.
//
// The package also parses the release metadata (status.repoInfo) that the upgrade repository
// writes on an Upgrade: see ParseRepoInfo.
package versionguard
