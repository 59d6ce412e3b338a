"""How the accounts API looks in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from accounts.serializers import ErrorDetailSerializer


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`, with the key from sign-up or sign-in. A key expires after a "
                "period without use (24 hours by default); each use renews it."
            ),
        }


VALIDATION_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        # A field's messages; or, for a body that is not JSON at all, `detail`.
        "additionalProperties": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
        },
    },
    description="The request was refused: each key names a field, with its messages.",
    examples=[OpenApiExample("Invalid field", value={"email": ["Enter a valid email address."]})],
)
UNAUTHENTICATED = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="No token, or a token that is unknown, revoked or expired.",
)
THROTTLED = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="Too many attempts from this address; the Retry-After header says when to retry.",
)
