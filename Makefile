# Maintainers' shortcuts. Office PCs do not need make: they install the wheel (README), then `newsletter ...`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the test suite drives for real (pixels, spam scores, an IMAP server).
TEST_DEBS := chromium spamassassin dovecot-imapd

.PHONY: demo test test-fast fuzz golden bench bench-packages lint system-packages clean

demo: $(VENV)/.installed-run
	$(BIN)/newsletter demo

test: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest

# The inner loop: no Chromium, SpamAssassin, fuzzing or slow tests.
test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -q -m "not chromium and not spamassassin and not dovecot and not slow and not fuzz"

# The fuzz tests with many more examples than CI runs (minutes to hours: stop with Ctrl-C).
fuzz: $(VENV)/.installed-dev
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -m fuzz -p no:cacheprovider

# Regenerate the golden files; review the diff before committing it.
golden: $(VENV)/.installed-dev
	NEWSLETTER_REGENERATE_GOLDEN=1 $(BIN)/pytest -q tests/test_render_golden.py tests/test_messages_golden.py

# Every benchmark, side by side with its reference tool (bench/README.md has the figures).
bench: $(VENV)/.installed-dev system-packages bench-packages
	$(BIN)/newsletter render 2026-11  # the sample issue's build, which the send benchmarks read
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/gather_sources.py 5
	$(BIN)/python bench/members_import.py
	$(BIN)/python bench/render_issue.py
	$(BIN)/python bench/messages_fill.py
	$(BIN)/python bench/send_smtp_sink.py
	$(BIN)/python bench/send_smtp_sink.py --memory
	cd bench && ../$(BIN)/python send_command.py --rounds 5
	cd bench && ../$(BIN)/python send_command.py --rounds 5 --dkim
	$(BIN)/python bench/preview_reload.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

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
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "Not installed:$$missing. Tests that need them are skipped (never in CI); install with: sudo apt-get install$$missing"; \
		fi; \
	fi

# The send benchmarks' reference: Postfix's smtp-sink and smtp-source (the daemon is
# never started), from the Debian package postfix.
bench-packages:
	@if ! command -v smtp-source >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-source ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian package: postfix"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix; \
		else \
			echo "Not installed: postfix (smtp-sink, smtp-source). Install with: sudo apt-get install postfix"; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
