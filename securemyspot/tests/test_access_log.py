import json

from securemyspot.tests.access_log import access_log_lines


def test_a_guest_routes_email_and_a_token_in_the_query_are_masked_in_the_access_log():
    [line] = access_log_lines(
        [("GET", "/reservation-unauth/4503599627370/Jane.Doe@Example.com/?token=s3cr3t-value", {})]
    )

    assert "Jane.Doe" not in line
    assert "s3cr3t-value" not in line
    record = json.loads(line)
    assert record["path"] == "/reservation-unauth/4503599627370/J***@Example.com/?token=[redacted]"
    assert (
        '"GET /reservation-unauth/4503599627370/J***@Example.com/?token=[redacted] HTTP/1.1"'
        in (record["message"])
    )


def test_a_percent_encoded_email_is_masked_in_the_access_log():
    [line] = access_log_lines([("DELETE", "/delete-reservation-unauth/7/jane%40example.com", {})])

    assert "jane%40" not in line
    assert "/delete-reservation-unauth/7/j***%40example.com" in json.loads(line)["path"]


def test_an_access_log_line_is_one_json_object_with_the_request_fields():
    [line] = access_log_lines([("GET", "/healthz", {"User-Agent": "probe"})])

    record = json.loads(line)
    assert record["logger"] == "gunicorn.access"
    assert record["level"] == "INFO"
    assert (record["method"], record["path"], record["status"]) == ("GET", "/healthz", 200)
    assert record["timestamp"].endswith("Z")
