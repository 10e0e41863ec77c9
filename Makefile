# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-load browser-deps server-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m web

# Debian's chromium drives the browser tests; as root we install it, otherwise the
# browser tests skip loudly (and .ci/run turns that skip into a failure).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "WARNING: could not install chromium; browser tests will be skipped"; \
	else echo "WARNING: /usr/bin/chromium missing and not root; browser tests will be skipped"; fi

# Debian's PostgreSQL, Redis and haproxy serve the scale-out tests, and clamd the antivirus
# tests, which start their own servers in temporary folders; as root we install them, otherwise
# those tests skip loudly (and .ci/run turns that skip into a failure).
server-deps:
	@if [ -x /usr/lib/postgresql/15/bin/postgres ] && command -v redis-server >/dev/null \
		&& [ -x /usr/sbin/haproxy ] && [ -x /usr/sbin/clamd ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			postgresql redis-server haproxy clamav-daemon) \
		|| echo "WARNING: could not install postgresql/redis-server/haproxy/clamav-daemon; server tests will be skipped"; \
	else echo "WARNING: postgresql, redis-server, haproxy or clamav-daemon missing and not root; server tests will be skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check bot web storage tests bench
	$(BIN)/mypy bot storage web

# Two workers, one a core of the 2-core CI machine: each starts its own test servers, and most
# tests wait on sockets and subprocesses, so the suite takes little more than half as long.
test: $(STAMP) browser-deps server-deps lint
	$(BIN)/python -m pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

# The chat under a crowd, alone, at any size: make bench-load LOAD_STUDENTS=2000 LOAD_RATE=100
# (LOAD_CLUSTER=2: two processes on PostgreSQL + Redis behind haproxy)
# (the same variables size the part of `make bench`; see bench/load.py)
bench-load: $(STAMP)
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
