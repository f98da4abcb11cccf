# Spoke's two commands: `make run` and `make test`.
GO ?= go
BIN := bin/spoke

.PHONY: build run test setup vet

build:
	$(GO) build -o $(BIN) ./cmd/spoke

vet:
	$(GO) vet ./...
