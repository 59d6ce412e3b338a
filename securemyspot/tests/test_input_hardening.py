"""Malformed requests end as 4xx JSON naming the problem, never a 500 or an HTML page."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.tests.factories import UserFactory, signed_in_client
from securemyspot.parsers import MAX_JSON_DEPTH, json_depth_exceeds

NESTED_TOO_DEEP = {"detail": f"JSON nested too deeply (max {MAX_JSON_DEPTH} levels)"}
PATH_SAMPLES = {"email": "guest@example.com", "token": "abc:def"}


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _api_routes(patterns=None, prefix=""):
    """(path, view class) of every DRF route, path parameters filled with sample values."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, prefix + str(pattern.pattern))
            continue
        view_class = getattr(pattern.callback, "cls", None)
        if isinstance(pattern, URLPattern) and view_class is not None:
            regex = prefix + str(pattern.pattern)
            path = re.sub(
                r"\(\?P<(\w+)>[^)]*\)", lambda group: PATH_SAMPLES.get(group[1], "1"), regex
            )
            yield "/" + path.removeprefix("^").removesuffix("/?$") + "/", view_class


BODY_ROUTES = sorted(
    (method, path)
    for path, view_class in _api_routes()
    for method in ("post", "patch", "put")
    if hasattr(view_class, method)
)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_no_route_fails_on_json_nested_thousands_deep(method, path):
    client, _ = signed_in_client(UserFactory())

    response = getattr(client, method)(path, nested_json(3000), content_type="application/json")

    assert response.status_code < 500
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/sign-up/"),
        ("post", "/sign-in/"),
        ("patch", "/change-pw/"),
        ("post", "/reservation-auth/1/"),
        ("post", "/reservation-unauth/1/"),
        ("patch", "/update-reservation-auth/1/"),
        ("patch", "/update-reservation-unauth/1/guest@example.com/"),
        ("post", "/sandbox/setup-intents/seti_1/confirm/"),
    ],
)
def test_a_body_route_refuses_deep_json_naming_the_limit(method, path):
    client, _ = signed_in_client(UserFactory())
    body = '{"reservation": ' * 3000 + "1" + "}" * 3000

    response = getattr(client, method)(path, body, content_type="application/json")

    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEP)


def test_body_routes_are_found_by_walking_the_url_conf():
    assert {("post", "/reservation-unauth/1/"), ("patch", "/change-pw/")} <= set(BODY_ROUTES)


def test_nesting_up_to_the_limit_is_accepted():
    assert not json_depth_exceeds(nested_json(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert json_depth_exceeds(nested_json(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = '{"email": "' + "[{" * 100 + '\\"' + "[" * 100 + '"}'

    assert not json_depth_exceeds(text, MAX_JSON_DEPTH)


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_413_naming_the_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client(raise_request_exception=False)
    body = '{"credentials": {"email": "' + "a" * 10_000 + '"}}'

    response = client.post("/sign-in/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large (max 1000 bytes)"}


def test_a_ten_megabyte_body_is_refused_as_json():
    client = Client(raise_request_exception=False)
    body = '{"credentials": {"email": "' + "a" * 10 * 1024 * 1024 + '"}}'

    response = client.post("/sign-in/", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"


def test_a_host_not_allowed_is_a_json_400():
    client = Client(raise_request_exception=False)

    response = client.get("/healthz", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert response.json() == {"detail": "Host not allowed"}
