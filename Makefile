# kubeward developer entry points. `make demo` and `make test` work on a fresh machine:
# they create the virtual environment and build the external tools (helm, kustomize) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_BIN := $(shell $(PYTHON) -c "import os;print(os.path.join(os.environ.get('KUBEWARD_TOOLS_CACHE') or os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),'kubeward','tools'),'bin'))")
export KUBEWARD_HELM := $(TOOLS_BIN)/helm
export KUBEWARD_KUSTOMIZE := $(TOOLS_BIN)/kustomize
export KUBEWARD_PSA_ORACLE := $(TOOLS_BIN)/psa-oracle
export KUBEWARD_CRANE := $(TOOLS_BIN)/crane
export KUBEWARD_COSIGN := $(TOOLS_BIN)/cosign
export KUBEWARD_OCI_REGISTRY := $(TOOLS_BIN)/oci-registry
export KUBEWARD_OPA := $(TOOLS_BIN)/opa
export KUBEWARD_TESTCLUSTER_BIN := $(shell tools/testcluster/build.sh --bin-dir)
export PATH := $(abspath $(BIN)):$(TOOLS_BIN):$(PATH)

.PHONY: help venv tools testcluster testcluster-up testcluster-down demo test lint typecheck fmt test-fast docs bench clean

help:
	@echo "make demo       scan the bundled example application, write report.html"
	@echo "make test       lint, type-check, architecture contracts, docs drift, all tests"
	@echo "make test-fast  the tests only (no lint), skipping nothing"
	@echo "make docs       regenerate docs/rules and docs/schema from the code"
	@echo "make bench      run the benchmarks in bench/ (see BENCHMARKS.md)"
	@echo "make testcluster-up / testcluster-down   a real control plane on 127.0.0.1 for kubectl"
	@echo "make fmt        format the code with ruff"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

tools:
	@tools/build-go-tools.sh >/dev/null

# etcd + kube-apiserver + kube-controller-manager from the Go module proxy (first time ~15-25 min)
testcluster:
	@tools/testcluster/build.sh >/dev/null

testcluster-up: venv testcluster
	@$(BIN)/python -m tests.testcluster up

testcluster-down: venv
	@$(BIN)/python -m tests.testcluster down

demo: venv tools
	@$(BIN)/kubeward scan examples/insecure --format html --output report.html --format table; \
	  echo "kubeward exited with $$? (1: findings, as expected for the insecure example)"
	@echo "HTML report: $(abspath report.html)"

lint: venv
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

test: venv tools testcluster lint
	$(BIN)/python -m pytest -q

test-fast: venv tools testcluster
	$(BIN)/python -m pytest -q -x

docs: venv
	$(BIN)/python tools/gen_docs.py

fmt: venv
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

bench: venv tools testcluster
	$(BIN)/python bench/scan_bench.py
	$(BIN)/python bench/cluster_bench.py
	$(BIN)/python bench/rbac_bench.py
	$(BIN)/python bench/admission_bench.py

clean:
	rm -rf $(VENV) report.html .pytest_cache .mypy_cache .ruff_cache
