# upgrade-helper's make targets. `make test` is what CI runs.
SHELL := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/cloudweav/upgrade-helper/pkg/version.Version=$(VERSION) -X github.com/cloudweav/upgrade-helper/pkg/version.Commit=$(COMMIT)
FUZZTIME ?= 10s

.PHONY: all build test test-assets unit fuzz bench generate lint clean

all: build

build: ## Build bin/upgrade-helper with version stamping.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/upgrade-helper ./cmd/upgrade-helper

test-assets: ## Build kube-apiserver and etcd from source (once; cached under bin/testassets).
	./hack/build-test-binaries.sh >/dev/null

test: test-assets ## Run every test, unit and integration, then each fuzz test briefly.
	KUBEBUILDER_ASSETS="$$(./hack/build-test-binaries.sh)" go test -count=1 ./...
	$(MAKE) fuzz

fuzz: ## Run each fuzz test for FUZZTIME.
	@set -e; for pkg in $$(go list ./...); do \
	  dir=$$(go list -f '{{.Dir}}' $$pkg); \
	  for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	    go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench: test-assets ## Run the benchmarks.
	KUBEBUILDER_ASSETS="$$(./hack/build-test-binaries.sh)" go test -run '^$$' -bench . -benchmem ./...

generate: ## Regenerate deep-copy code and CRDs from the API types.
	go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.21.0 object paths=./pkg/apis/... crd:crdVersions=v1 output:crd:dir=./deploy/crds

lint: ## go vet and gofmt.
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

clean:
	rm -rf bin dist
