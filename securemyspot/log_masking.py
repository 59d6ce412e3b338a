"""Takes personal data and secrets out of text bound for a log.

Every log handler runs its records through ``mask`` (``securemyspot.log_format``), and so does
gunicorn's access log (``securemyspot.gunicorn_logging``): guest routes carry the driver's email
in their path, and anyone may send a ``?token=``. What is masked is listed in
docs/operations.md.
"""

import re

_EMAIL = re.compile(
    r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@|%40)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_SECRET_QUERY_PARAM = re.compile(
    r"([?&;][\w.-]*(?:token|secret|password|passwd|key|signature)=)[^&;#\s\"']*",
    re.IGNORECASE,
)
# An Authorization header's credentials, wherever a header dump or an error quotes them.
_CREDENTIALS = re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# Stripe client secrets (seti_..._secret_..., pi_..._secret_...): the id before is no secret.
_CLIENT_SECRET = re.compile(r"(_secret_)[A-Za-z0-9]+")
# Stripe API keys, webhook signing secrets and the signature a webhook carries.
_STRIPE_KEY = re.compile(r"\b((?:sk|rk)_(?:test|live)_|whsec_)[A-Za-z0-9]+")
_WEBHOOK_SIGNATURE = re.compile(r"\b(v[01]=)[0-9a-f]{16,}")
# A card number where something names it so (a form field, a request body quoted in an error).
# Bare digit runs are left alone: reservation ids are random 16-digit numbers too.
_CARD_NUMBER = re.compile(r"((?:card|number|pan)\W{1,4})\d(?:[ -]?\d){11,18}", re.IGNORECASE)
# Cheap first looks, so that a line with nothing to mask (most) costs a few substring scans.
_TWELVE_DIGITS = re.compile(r"\d{4}[ -]?\d{4}[ -]?\d{4}")
_CREDENTIAL_WORDS = ("Token ", "Bearer ", "Basic ")
_STRIPE_KEY_PREFIXES = ("sk_", "rk_", "whsec_")

REDACTED = "[redacted]"


def _masked_email(match: re.Match) -> str:
    return f"{match[1]}***{match[2]}{match[3]}"


def mask(text: str) -> str:
    """``text`` with emails shortened to their first character and domain, and secrets
    (query parameters named like one, credentials, Stripe secrets, card numbers) redacted."""
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(_masked_email, text)
    if "=" in text:
        text = _SECRET_QUERY_PARAM.sub(rf"\1{REDACTED}", text)
        text = _WEBHOOK_SIGNATURE.sub(rf"\1{REDACTED}", text)
    if "_secret_" in text:
        text = _CLIENT_SECRET.sub(rf"\1{REDACTED}", text)
    if any(word in text for word in _CREDENTIAL_WORDS):
        text = _CREDENTIALS.sub(rf"\1 {REDACTED}", text)
    if any(prefix in text for prefix in _STRIPE_KEY_PREFIXES):
        text = _STRIPE_KEY.sub(rf"\1{REDACTED}", text)
    if _TWELVE_DIGITS.search(text):
        text = _CARD_NUMBER.sub(rf"\1{REDACTED}", text)
    return text
