"""The link in a "Payment Failed" email to the payment page of one reservation. Made in
reservations.links, beside the manage link, so that the reservation JSON can carry it to the
driver (``payment_recovery_url``); payments' pages and emails use it from here."""

from reservations.links import pay_token, pay_url
from reservations.links import paying_reservation_id_from as reservation_id_from

__all__ = ["pay_token", "pay_url", "reservation_id_from"]
