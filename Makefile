# complyflow. `make run` brings up the whole system on this machine; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/complyflow/complyflow/internal/platform.Version=$(VERSION)

.PHONY: run test bench build tools vet fmt clean

run:
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/test.sh bench

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/worker ./worker
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/portal ./portal
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/starter ./starter

# The Temporal CLI (dev server + web UI), pinned in tools/go.mod; rebuilt only
# when the pin changes. About 5 minutes cold on 2 cores.
tools: bin/temporal

bin/temporal: tools/go.mod tools/go.sum
	$(GO) build -modfile=tools/go.mod -o bin/temporal github.com/temporalio/cli/cmd/temporal

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin/worker bin/portal bin/starter
