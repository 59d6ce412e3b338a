from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # drf-spectacular finds extensions by import; this registers the token scheme.
        from accounts import schema  # noqa: F401
