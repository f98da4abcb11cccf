# Spoke's two commands: `make run` and `make test`.
GO ?= go
BIN := bin/spoke
ADDR ?= 127.0.0.1:8080
DATA ?= ./spoke-data

.PHONY: build run test setup vet staticcheck bench fuzz soak screenshots ui-vendor

build:
	$(GO) build -o $(BIN) ./cmd/spoke

setup:
	./scripts/setup.sh

# Build, set up the sandbox runtimes, and start Spoke on SQLite in $(DATA)
# with a few demo records. It prints the URL and the admin token.
run: build setup
	$(BIN) serve --demo --addr $(ADDR) --data $(DATA)

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)

# staticcheck is pinned; the Go module proxy serves it.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

staticcheck:
	$(GO) run $(STATICCHECK) ./...

# Packages whose tests start real interpreters, servers, browsers or spoke binaries
# run without the race detector, which would slow them past CI's budget;
# every other package runs with it.
NORACE := /sandbox$$|/contract$$|/cmd/spoke$$|/web$$|/codetest$$

# Install what the tests need, then run every test: unit, integration with
# the real runtimes, and the @hubspot/api-client contract suite.
test: setup vet staticcheck
	$(GO) test -count=1 -timeout 30m -race $$($(GO) list ./... | grep -Ev '$(NORACE)')
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -E '$(NORACE)')

bench: build
	$(BIN) bench crm

# Save a screenshot of each main page of the web UI (the browser test
# takes them) into docs/screenshots.
screenshots: setup
	SPOKE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowser ./web

# Reinstall the pinned CodeMirror from npm and copy the files the UI embeds
# (committed under web/static/vendor/codemirror).
ui-vendor:
	./web/editor/vendor.sh

# Each fuzz target runs for FUZZTIME. The flows target minimises new
# inputs for at most 100 runs each: its runs create and delete flows, and
# the default minimisation (60 s per input) stalls it.
FUZZTIME ?= 60s

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz='^FuzzSearch$$' -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz='^FuzzFlowsAPI$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x ./api

# The soak test (docs/soak.md): continuous enrollment under mixed API load
# with random kill -9s for SOAK_DURATION, then checks nothing was lost or
# doubled.
SOAK_DURATION ?= 3m

soak: setup
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -timeout 60m -v -run '^TestSoak$$' ./cmd/spoke
