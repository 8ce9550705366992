# upgrade-helper's make targets. `make test` is what CI runs.
SHELL := /usr/bin/env bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/cloudweav/upgrade-helper/pkg/version.Version=$(VERSION) -X github.com/cloudweav/upgrade-helper/pkg/version.Commit=$(COMMIT)
FUZZTIME ?= 10s
# What `make bench` runs: the benchmark pattern, each one's time or count, the packages.
BENCH ?= .
BENCHTIME ?= 1s
BENCH_PKGS ?= ./...
# SOURCE_DATE_EPOCH fixes the image's timestamps (the last commit's time) so that it is reproducible.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# The image: the architectures to build, where the tarballs go, and the placeholder image name.
IMAGE_ARCHS ?= amd64
IMAGE_DIR ?= bin/image
IMAGE_REPOSITORY ?= registry.cloudweav.io/cloudweav/upgrade-helper
# Where `make install-plugin` puts kubectl-upgrade_helper; a folder on PATH.
PLUGIN_DIR ?= $(HOME)/.local/bin
# The release binaries of `make dist`.
DIST_PLATFORMS ?= linux/amd64 linux/arm64
# staticcheck 2026.2.2, the newest that builds with this Go; run from the module proxy, not go.mod.
STATICCHECK ?= go run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test test-assets test-image unit fuzz bench generate docs install-plugin lint image dist clean

all: build

build: ## Build bin/upgrade-helper with version stamping.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/upgrade-helper ./cmd/upgrade-helper

test-assets: ## Build kube-apiserver and etcd from source (once; cached under bin/testassets).
	./hack/build-test-binaries.sh >/dev/null

test: test-assets ## Run every test, unit and integration, then each fuzz test briefly.
	KUBEBUILDER_ASSETS="$$(./hack/build-test-binaries.sh)" go test -count=1 ./...
	$(MAKE) test-image
	$(MAKE) fuzz

test-image: ## Test the image builder: it runs `make image` and checks the tarball and its binary.
	cd hack/image && go test -count=1 ./...

fuzz: ## Run each fuzz test for FUZZTIME.
	@set -e; for pkg in $$(go list ./...); do \
	  dir=$$(go list -f '{{.Dir}}' $$pkg); \
	  for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	    go test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench: test-assets ## Run the benchmarks (BENCH_PKGS=./test/bench BENCHTIME=5x for the live detector ones alone).
	KUBEBUILDER_ASSETS="$$(./hack/build-test-binaries.sh)" go test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem $(BENCH_PKGS)

generate: ## Regenerate deep-copy code and CRDs from the API types.
	go run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.21.0 object paths=./pkg/apis/... crd:crdVersions=v1 output:crd:dir=./deploy/crds

docs: ## Regenerate the CLI reference docs/cli from the cobra commands (a test fails when it is stale).
	go run ./hack/gendocs -out docs/cli

install-plugin: build ## Install bin/upgrade-helper as the kubectl plugin kubectl-upgrade_helper (and its completion helper) in PLUGIN_DIR.
	install -d $(PLUGIN_DIR)
	install -m 0755 bin/upgrade-helper $(PLUGIN_DIR)/kubectl-upgrade_helper
	install -m 0755 hack/kubectl_complete-upgrade_helper $(PLUGIN_DIR)/kubectl_complete-upgrade_helper
	@echo "installed $(PLUGIN_DIR)/kubectl-upgrade_helper: run 'kubectl upgrade-helper --help' (PLUGIN_DIR must be on PATH)"

lint: ## go vet, gofmt and staticcheck, of the tool and of the image builder.
	go vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(STATICCHECK) ./...
	cd hack/image && go vet ./... && $(STATICCHECK) ./...

image: ## Build OCI image tarballs IMAGE_DIR/upgrade-helper-ARCH.tar (no container daemon needed).
	@mkdir -p $(IMAGE_DIR)
	cd hack/image && go build -o $(abspath $(IMAGE_DIR))/build-image .
	@set -e; for arch in $(IMAGE_ARCHS); do \
	  echo "image linux/$$arch"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
	    -o $(IMAGE_DIR)/upgrade-helper-linux-$$arch ./cmd/upgrade-helper; \
	  $(IMAGE_DIR)/build-image -binary $(IMAGE_DIR)/upgrade-helper-linux-$$arch -arch $$arch \
	    -version "$(VERSION)" -commit "$(COMMIT)" -created "$(SOURCE_DATE_EPOCH)" \
	    -repository "$(IMAGE_REPOSITORY)" -out $(IMAGE_DIR)/upgrade-helper-$$arch.tar; \
	done

dist: ## Build static release binaries for DIST_PLATFORMS into dist/, with dist/SHA256SUMS.
	rm -rf dist
	mkdir -p dist
	@set -e; for platform in $(DIST_PLATFORMS); do \
	  os=$${platform%/*}; arch=$${platform#*/}; \
	  echo "dist $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
	    -o dist/upgrade-helper-$$os-$$arch ./cmd/upgrade-helper; \
	done
	cd dist && sha256sum upgrade-helper-* > SHA256SUMS

clean:
	rm -rf bin dist
