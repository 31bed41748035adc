# Two entry points: `make demo` and `make test`. Both start with `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := postgresql prometheus chromium mariadb-server prometheus-alertmanager

.PHONY: install demo test lint servers snowflake-venvs constraints clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,mysql,s3,lake,bigquery]'
	touch $@

# The real servers the tests use (Debian packages). Installed only when missing.
servers:
	@missing=""; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v mariadbd >/dev/null || missing="$$missing mariadb-server"; \
	command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null || \
	  missing="$$missing prometheus-alertmanager"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing </dev/null; \
	fi

# Two venvs for the Snowflake tests (tests/integration/test_snowflake.py), reused when present:
# fakesnow's server (its own duckdb/sqlglot pins) and fresh with the `snowflake` extra
# (SQLAlchemy 2.0.x). Built here so the tests never time out building them.
SNOW := .venvs-test
snowflake-venvs: $(SNOW)/fakesnow/.installed $(SNOW)/snowflake/.installed

$(SNOW)/fakesnow/.installed:
	$(PYTHON) -m venv $(SNOW)/fakesnow
	$(SNOW)/fakesnow/bin/pip install --quiet 'fakesnow[server]==0.12.1' 'snowflake-connector-python>=3.18,<5'
	touch $@

$(SNOW)/snowflake/.installed: pyproject.toml
	$(PYTHON) -m venv $(SNOW)/snowflake
	$(SNOW)/snowflake/bin/pip install --quiet -e '.[snowflake]'
	touch $@

lint: install
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy monitor
	$(BIN)/lint-imports

test: install servers snowflake-venvs lint
	$(BIN)/pytest -q -p no:cacheprovider

demo: install
	$(BIN)/fresh demo

# Refresh the tested versions after changing dependencies.
constraints:
	$(BIN)/pip freeze --exclude-editable | grep -v '^fresh-monitor' > constraints.txt

clean:
	rm -rf $(VENV) $(SNOW) .fresh .pytest_cache .mypy_cache .ruff_cache
