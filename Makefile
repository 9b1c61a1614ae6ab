# Maintainers' shortcuts. Office PCs do not need make: they install the wheel (README), then `newsletter ...`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the test suite drives for real (pixels, spam scores).
TEST_DEBS := chromium spamassassin

.PHONY: demo test lint system-packages clean

demo: $(VENV)/.installed-run
	$(BIN)/newsletter demo

test: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps make a second `make demo`/`make test` skip the install; pyproject.toml changes redo it.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-run

# Installs what is missing when we may (root with apt); otherwise says what to install.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v spamassassin >/dev/null 2>&1 || missing="$$missing spamassassin"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "Not installed:$$missing. Tests that need them are skipped (never in CI); install with: sudo apt-get install$$missing"; \
		fi; \
	fi

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
