from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from payments import receivers  # imports models' apps: only once they are ready

        receivers.connect()
