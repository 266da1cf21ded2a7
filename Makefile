# Beckon's front door. `make help` lists the targets.
GO      ?= go
BIN     := bin/beckon
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
export BROWSERSLIST_IGNORE_OLD_DATA := 1

.DEFAULT_GOAL := help
.PHONY: help run build test bench generate css audit clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the server on the embedded SQLite default (./data/beckon.db)
	@mkdir -p data
	$(GO) run ./cmd/web serve

build: ## build the binary into bin/beckon
	CGO_ENABLED=1 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/web

# PostgreSQL tests run when BECKON_TEST_POSTGRES_URL names a server and a role
# that may create databases (postgres://beckon:beckon@127.0.0.1:5432/postgres?sslmode=disable;
# .ci/run starts one); without it they skip, and under CI=true they fail.
# The suite runs twice: on SQLite, then with BECKON_TEST_ENGINE=postgres the
# packages whose tests take their database from models/testdb, each test
# on a fresh PostgreSQL database (the browser tests run on SQLite only).
PG_PACKAGES := ./models ./handlers ./mail ./webhooks ./cmd/web
test: ## vet, then every test on SQLite and again on PostgreSQL (set BECKON_TEST_POSTGRES_URL), with the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...
	@if [ -n "$$BECKON_TEST_POSTGRES_URL" ]; then \
		echo "BECKON_TEST_ENGINE=postgres $(GO) test -race -count=1 -timeout 15m -skip TestBrowser $(PG_PACKAGES)"; \
		BECKON_TEST_ENGINE=postgres $(GO) test -race -count=1 -timeout 15m -skip TestBrowser $(PG_PACKAGES); \
	elif [ "$$CI" = true ]; then \
		echo "BECKON_TEST_POSTGRES_URL is unset: CI must run the suite on PostgreSQL too (.ci/run starts a server)"; exit 1; \
	else \
		echo "skipped: the suite on PostgreSQL (set BECKON_TEST_POSTGRES_URL to a server whose role may create databases)"; \
	fi

# PERF is the folder of compare.sh, gobase and the load tool (issue 15).
PERF ?= ../shared/perf

bench: ## Go benchmarks, the load run, then compare.sh beside gobase when present (figures: docs/performance.md)
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 -timeout 30m ./...
	@if [ -d cmd/loadtest ]; then $(GO) run ./cmd/loadtest; fi
	@# The same load on PostgreSQL, with one server and with two over one database.
	@if [ -n "$$BECKON_TEST_POSTGRES_URL" ]; then \
		$(GO) run ./cmd/loadtest -db "$$BECKON_TEST_POSTGRES_URL" && \
		$(GO) run ./cmd/loadtest -db "$$BECKON_TEST_POSTGRES_URL" -instances 2; \
	else echo "bench: BECKON_TEST_POSTGRES_URL is unset: skipping the load runs on PostgreSQL"; fi
	@# Beckon beside a bare Go server (issue 15): ratios are read within one run only.
	@if [ -x $(PERF)/compare.sh ]; then $(PERF)/compare.sh . 3 15s; \
	else echo "bench: $(PERF)/compare.sh not found beside the checkout: skipping the comparison with gobase (PERF=dir to point at it)"; fi

generate: ## regenerate the templ components (*_templ.go, committed)
	$(GO) tool templ generate

node_modules: package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

css: node_modules ## rebuild static/css/app.css with Tailwind (committed)
	npm run --silent css

audit: node_modules ## gofmt, vet, staticcheck, and fail when generated files are stale
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	$(GO) tool templ generate
	npm run --silent css
	@if [ -n "$$(git status --porcelain -- views static)" ]; then \
		echo "generated files are stale: run 'make generate css' and commit:"; git status --porcelain -- views static; exit 1; fi

clean: ## remove built files
	rm -rf bin
