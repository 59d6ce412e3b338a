from django.apps import AppConfig


class ReservationsConfig(AppConfig):
    name = "reservations"

    def ready(self) -> None:
        # Spots sit below reservations and never import them: they are told what holds a spot.
        from reservations.selectors import live_reservations_during
        from spots import holds

        holds.provide(live_reservations_during)
