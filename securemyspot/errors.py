"""Domain errors: services raise these; ``securemyspot.api.exception_handler`` maps them to
HTTP once, so no view decides a status code for a business rule."""


class DomainError(Exception):
    """A request the domain refuses: 400 naming ``field``."""

    status_code = 400
    field = "non_field_errors"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field

    def as_body(self) -> dict:
        return {self.field: [self.message]}


class Conflict(DomainError):
    """The request is valid but the resource is not in a state that allows it: 409."""

    status_code = 409

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details

    def as_body(self) -> dict:
        return {"detail": self.message, **self.details}


class RetryLater(Exception):
    """Nothing was changed; the same request may succeed after ``retry_after_seconds``
    (the response's Retry-After header)."""

    status_code = 503
    retry_after_seconds = 30

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retry_after_seconds is not None:
            self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(RetryLater):
    """An outside system (Stripe, ...) could not be reached; nothing was changed. 503."""


class TooManyRequests(RetryLater):
    """A client asked for more than its share (holds, attempts): 429."""

    status_code = 429
