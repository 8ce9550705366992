#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that the integration tests run, from source through
# Go modules, into a git-ignored folder keyed by version. A rerun that finds them builds nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
k8s_version=v1.36.3
etcd_version=v3.6.16
out="$root/bin/testassets/k8s-${k8s_version}-etcd-${etcd_version}"
mkdir -p "$out"

if [ ! -x "$out/kube-apiserver" ]; then
  echo "building kube-apiserver ${k8s_version} (takes a few minutes the first time)" >&2
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X ${pkg}.gitVersion=${k8s_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=36"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=${k8s_version}"
  (cd "$root/hack/tools/kube-apiserver" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
    -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
fi

if [ ! -x "$out/etcd" ]; then
  echo "building etcd ${etcd_version}" >&2
  (cd "$root/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$out/etcd.tmp" .)
  mv "$out/etcd.tmp" "$out/etcd"
fi

echo "$out"
