from rest_framework import serializers

PASSWORDS_DIFFER = "Passwords do not match"


class PasswordField(serializers.CharField):
    """A password as typed: refuses numbers, which CharField would quietly turn into text, and
    keeps surrounding spaces, which are part of the password."""

    def __init__(self, **kwargs) -> None:
        super().__init__(trim_whitespace=False, style={"input_type": "password"}, **kwargs)

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _check_confirmation(password: str, confirmation: str) -> None:
    if password != confirmation:
        raise serializers.ValidationError({"password_error": [PASSWORDS_DIFFER]})


class SignUpCredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()
    password_confirmation = PasswordField()

    def validate(self, attrs: dict) -> dict:
        _check_confirmation(attrs["password"], attrs["password_confirmation"])
        return attrs


class SignInCredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()


class ChangePasswordCredentialsSerializer(serializers.Serializer):
    password = PasswordField(help_text="The current password.")
    new_password = PasswordField()
    new_password_confirmed = PasswordField()

    def validate(self, attrs: dict) -> dict:
        _check_confirmation(attrs["new_password"], attrs["new_password_confirmed"])
        return attrs


class SignUpSerializer(serializers.Serializer):
    credentials = SignUpCredentialsSerializer()


class SignInSerializer(serializers.Serializer):
    credentials = SignInCredentialsSerializer()


class ChangePasswordSerializer(serializers.Serializer):
    credentials = ChangePasswordCredentialsSerializer()


class SessionSerializer(serializers.Serializer):
    email = serializers.EmailField()
    token = serializers.CharField(
        help_text="Send as `Authorization: Token <token>`; expires after a period unused."
    )
    email_verified = serializers.BooleanField(
        help_text="Whether the address is confirmed (always true with verification off)."
    )


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    email_verified = serializers.BooleanField(
        help_text="Whether the address is confirmed (always true with verification off)."
    )
    email_verification = serializers.ChoiceField(
        choices=["none", "optional", "mandatory"],
        help_text=(
            "The service's setting: `none` (no link is sent), `optional` (a link is sent; "
            "nothing waits on it), `mandatory` (no booking until the address is confirmed)."
        ),
    )


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
