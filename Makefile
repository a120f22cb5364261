# wxfn — one Makefile for the whole project. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
FN    ?= login
EVENT ?= events/$(FN)/aws-url-login.json
# The test suite's own bound; CI's is 90 minutes, ours aims for well under 15.
TEST_TIMEOUT ?= 12m
# Where make dev keeps its data and make invoke finds the running stack's settings.
WXFN_DATA ?= .wxfn
export WXFN_DATA

.PHONY: help dev invoke test test-go vet fmt build package bench deploy-aws deploy-scf generate clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

dev: ## run the local stack: database, object store, WeChat emulator, every function on :8080
	$(GO) run ./infra/cmd/wxfn-dev

invoke: ## run one function on one sample event against the running local stack: make invoke FN=login EVENT=events/login/…json
	@test -f $(WXFN_DATA)/dev.env || { echo "make invoke needs the local stack: run 'make dev' in another terminal first" >&2; exit 1; }
	@mkdir -p build/bin
	@$(GO) build -tags lambda.norpc -o build/bin/$(FN) ./functions/$(FN)/cmd
	@$(GO) run ./infra/cmd/wxfn-invoke $(WXFN_DATA)/dev.env build/bin/$(FN) $(EVENT)

test: vet test-go package-check ## everything: vet, unit/handler/process tests, deployment-config checks

vet: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test-go: ## Go tests (embedded database, emulator, built binaries under each runtime)
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

package-check: build ## serverless package (v3.40.0, offline) and check the CloudFormation output
	bash scripts/package-check.sh

build: ## build/aws/NAME.zip (bootstrap) and build/scf/NAME.zip (main) for every function
	bash scripts/build.sh

generate: ## regenerate serverless.yml and infra/scf/*/serverless.yml from the function catalog
	$(GO) run ./infra/deploy/cmd/wxfn-deploy

bench: ## Go benchmarks and the cold-start harness, with the hello-world baseline measured in the same run
	bash scripts/bench.sh

deploy-aws: build ## deploy to AWS Lambda (needs AWS credentials): make deploy-aws STAGE=prod
	npx serverless deploy --stage $${STAGE:-dev}

deploy-scf: build ## deploy to Tencent SCF with serverless-cloud-framework (needs infra/scf/.env)
	cd infra/scf && scf deploy --stage $${STAGE:-dev}

clean: ## remove build output (keeps .wxfn/ data)
	rm -rf build .serverless
