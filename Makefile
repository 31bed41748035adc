# Two entry points: `make demo` and `make test`. Both start with `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := postgresql prometheus chromium mariadb-server prometheus-alertmanager

.PHONY: install demo test lint servers constraints clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,mysql,s3,lake]'
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

lint: install
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy monitor
	$(BIN)/lint-imports

test: install servers lint
	$(BIN)/pytest -q -p no:cacheprovider

demo: install
	$(BIN)/fresh demo

# Refresh the tested versions after changing dependencies.
constraints:
	$(BIN)/pip freeze --exclude-editable | grep -v '^fresh-monitor' > constraints.txt

clean:
	rm -rf $(VENV) .fresh .pytest_cache .mypy_cache .ruff_cache
