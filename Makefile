# Two commands matter: `make run` starts the product locally, `make test` runs every suite.
# Both set up the virtual environment first, so they work on a fresh clone.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= ap-northeast-2

.PHONY: install run test test-fast model package bench schemas openapi lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ml]"
	touch $(STAMP)

install: $(STAMP)

## Train the sentiment model if its artifact is missing, then serve everything on 127.0.0.1.
run: $(STAMP)
	$(BIN)/python -m infra.local

## Every suite: unit, integration on moto, end to end over HTTP, templates and models.
test: $(STAMP)
	$(BIN)/python -m pytest

## The suites without model training on the public data sets and without packaging.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not packaging"

model: $(STAMP)
	$(BIN)/python -c "from ml.sentiment.train import ensure_model; print(ensure_model())"

package: $(STAMP)
	$(BIN)/python -m infra.package build/package

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

schemas: $(STAMP)
	$(BIN)/python -m events.generate

lint: $(STAMP)
	$(BIN)/cfn-lint infra/resources.yaml

clean:
	rm -rf build vendor .pytest_cache
