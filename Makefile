# Fresh machine: `make demo` and `make test` create .venv, install everything, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.edgex-installed
DEMO_OUT := dist/demo
# Pinned, verified-together versions (torch==2.13.0 resolves to the local CPU wheel; see README).
CONSTRAINTS := constraints.txt

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[all,dev]"
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/edgex export demo --to tflite --quantize all --out $(DEMO_OUT) --force \
		--report-json $(DEMO_OUT)/tflite.json --report-md $(DEMO_OUT)/tflite.md --junit $(DEMO_OUT)/tflite.xml
	$(BIN)/edgex export demo-torch --to executorch --quantize none --quantize int8 --out $(DEMO_OUT) --force \
		--report-json $(DEMO_OUT)/executorch.json --report-md $(DEMO_OUT)/executorch.md --junit $(DEMO_OUT)/executorch.xml
	$(BIN)/edgex export demo-torch --to pytorch-lite --out $(DEMO_OUT) --force \
		--report-json $(DEMO_OUT)/pytorch-lite.json

# pytest exits 5 when it collects nothing: that is a broken suite, reported as such.
test: install
	$(BIN)/ruff check edgex tests benchmarks sample_apps
	$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: the suite is missing or broken" >&2; exit 1; fi; \
	exit $$status

lint: install
	$(BIN)/ruff check edgex tests benchmarks sample_apps

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf dist .pytest_cache
