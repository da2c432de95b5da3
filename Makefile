# strangler: build, local stack, tests and benchmarks. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/strangler
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/strangler/strangler/internal/version.Version=$(VERSION)
STACK_ENV = eval "$$(scripts/devstack.sh env)"

.PHONY: help build stack-up stack-down test test-unit vet demo bench-cdc bench-compare bench-saga bench-dualwrite clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/strangler
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/strangler

stack-up: ## start the local stack (scratch MariaDB with binlog, kinesalite, scratch PostgreSQL)
	scripts/devstack.sh up

stack-down: ## stop the local stack
	scripts/devstack.sh down

vet: ## go vet
	$(GO) vet ./...

test: stack-up vet ## vet, unit and integration tests with -race, against the local stack
	$(STACK_ENV) && $(GO) test -race -count=1 -timeout 20m ./...

test-unit: ## unit tests only (no stack needed)
	$(GO) test -short -count=1 ./...

demo: build stack-up ## stream changes from MariaDB into Kinesis and show them coming back
	$(STACK_ENV) && scripts/demo.sh

bench-cdc: build stack-up ## CDC benchmark: raw decode rate, end to end into discard, file and kinesalite
	$(STACK_ENV) && $(GO) run ./internal/bench/cdcbench -out docs/BENCHMARKS.md

bench-compare: stack-up ## compare data benchmark: million-row tables vs pt-table-checksum, MariaDB and PostgreSQL
	compare/bench/bench.sh docs/benchmarks-compare.md

bench-saga: stack-up ## saga engine benchmark: 3-step sagas inline, and driven by two recovery loops
	$(STACK_ENV) && $(GO) test -run '^$$' -bench . -benchtime 500x -count 3 ./compensate/

bench-dualwrite: stack-up ## dual writes: latency and throughput of a legacy write, plain vs outbox, mirror, shadow
	$(STACK_ENV) && $(GO) run ./dualwrite/internal/bench -out docs/benchmarks-dualwrite.md

clean:
	rm -rf bin
