"""A pytest plugin (loaded with ``-p`` in pyproject.toml, before pytest-django reads the
settings) supplying what settings require when DEBUG is false: a secret key, and the sandbox
gateway unless a test asks for Stripe (payments/tests/conftest.py). Values already in the
environment win, so CI can pass its own."""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("PAYMENT_GATEWAY", "sandbox")
