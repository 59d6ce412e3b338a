import factory
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuthToken, User

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"driver{n}@example.com")
    password = factory.django.Password(PASSWORD)


def signed_in_client(user: User) -> tuple[APIClient, AuthToken]:
    """A client sending a fresh token of the user, and that token."""
    key = services.issue_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, AuthToken.objects.get(digest=services.token_digest(key))
