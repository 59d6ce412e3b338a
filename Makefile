# Secure-My-Spot: `make run` serves everything on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make run` serves the API (gunicorn) and the live sockets (uvicorn) on these two, and both on
# PORT through securemyspot/path_router.py (docs/live.md).
API_PORT ?= $(shell echo $$(($(PORT) + 1)))
SOCKET_PORT ?= $(shell echo $$(($(PORT) + 2)))
SEED_SPOTS ?= 5000
export PORT API_PORT SOCKET_PORT
# `make run` supplies what the settings require with DEBUG false (the default; DEBUG stays off,
# Celery leaks memory with it): a secret key made once and kept in data/, the sandbox gateway
# (PAYMENT_GATEWAY=stripe and Stripe keys in .env or the environment for real payments) and
# links in emails to this PORT, as honcho gives the worker and beat PORTs of their own.
LOCAL_SECRET_KEY := data/secret_key
RUN_ENV = SECRET_KEY="$${SECRET_KEY:-$$(cat $(LOCAL_SECRET_KEY))}" \
	PAYMENT_GATEWAY="$${PAYMENT_GATEWAY:-sandbox}" \
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" \
	STATIC_FROM_SOURCES="$${STATIC_FROM_SOURCES:-false}"
# `make image`: the service image (Dockerfile, docs/deploy.md).
IMAGE ?= securemyspot:latest
BASE_IMAGE ?= python:3.11-slim-bookworm

.PHONY: install run test lint format bench screenshots image clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: export LOG_FORMAT ?= console
$(LOCAL_SECRET_KEY):
	mkdir -p $(@D)
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

run: install $(LOCAL_SECRET_KEY)
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_spots --count $(SEED_SPOTS) --if-empty
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "Serving on http://127.0.0.1:$(PORT)  (API docs: /api/docs/, admin: /admin/, live: ws://127.0.0.1:$(PORT)/ws/availability/). Ctrl-C stops all."
	$(RUN_ENV) $(BIN)/honcho --procfile Procfile.dev start --port $(PORT)

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	@# A check needs no production settings: DEBUG lets it start with none.
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	@# actionlint comes with the dev extras on x86-64 Linux (pyproject.toml says why this package).
	@if [ -x $(BIN)/actionlint ]; then echo "actionlint .github/workflows/*.yml"; \
		$(BIN)/actionlint .github/workflows/*.yml; \
	else echo "actionlint: no build for this platform in the dev extras; workflows not checked"; fi

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# The web app's main pages at phone and desktop sizes, into docs/screenshots/ (README.md).
screenshots: install
	$(BIN)/python -m web.tests.screenshots

image:
	IMAGE=$(IMAGE) BASE_IMAGE=$(BASE_IMAGE) docker/build-image

clean:
	rm -rf $(VENV) data staticfiles .pytest_cache .ruff_cache
