// A spot's panel: a modal <dialog> (focus moves into it, Esc closes it, focus goes back to
// what opened it) with the spot's rate, the price of the chosen window from the quote route,
// the walk to it, and the reserve form for a guest (email) or a signed-in driver (token).
import { api, firstError } from "./api.js";
import { clearErrors, showErrors } from "./forms.js";
import { dollars, dollarsFromCents, metersBetween, minutesAsText, nyDateTime, walkingDistance } from "./format.js";
import { rememberGuestReservation, token } from "./session.js";

export function spotPanel({ dialog, onSpotTaken, onClose }) {
  const form = dialog.querySelector("#reserve-form");
  const field = (name) => dialog.querySelector(`[data-${name}]`);
  let current = null; // {spot, window}
  let returnFocus = null;

  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    current = null;
    onClose();
    returnFocus?.();
  });

  async function showQuote(spot, window) {
    const price = field("price");
    price.textContent = "Working out the price…";
    field("waiver").hidden = true;
    const answer = await api(`/quote/${spot.id}/?minutes=${window.minutes}`, { auth: false });
    if (current?.spot !== spot) return; // another spot was opened meanwhile
    if (!answer.ok) {
      price.textContent = firstError(answer.data, "The price could not be worked out.");
      return;
    }
    const quote = answer.data;
    price.textContent = `${dollarsFromCents(quote.amount_cents)} for ${minutesAsText(quote.minutes)}`;
    field("waiver").hidden = !quote.fee_waived;
  }

  function hideOffers() {
    field("sign-in-offer").hidden = true;
    field("resend").hidden = true;
    field("resend-result").textContent = "";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    const { spot, window } = current;
    const button = form.querySelector("button[type=submit]");
    clearErrors(form);
    hideOffers();
    const signedIn = !!token();
    const email = form.elements.email.value.trim();
    const reservation = { reservation_length: window.minutes };
    if (window.start) reservation.start_time = window.start.toISOString();
    if (!signedIn) reservation.email = email;
    button.disabled = true;
    const path = signedIn ? `/reservation-auth/${spot.id}/` : `/reservation-unauth/${spot.id}/`;
    const answer = await api(path, { method: "POST", body: { reservation } });
    button.disabled = false;
    if (answer.status === 201) {
      if (!signedIn) rememberGuestReservation(answer.data.id, email);
      location.assign(`/reservations/${answer.data.id}/`);
      return;
    }
    refused(answer, spot);
  });

  function refused(answer, spot) {
    const data = answer.data || { detail: "Something went wrong. Please try again." };
    if (answer.status === 401) {
      // api.js has forgotten the expired token; the form now asks for an email instead.
      showErrors(form, { detail: "Your sign-in has expired: sign in again, or book as a guest." });
      return;
    }
    showErrors(form, data); // the window's errors (not fields of this form) go to its alert
    if (data.parking_spot) onSpotTaken(spot.id);
    if (data.email && /account/i.test(data.email.join(" "))) field("sign-in-offer").hidden = false;
    if (data.email_unverified) field("resend").hidden = false;
  }

  field("resend-button").addEventListener("click", async () => {
    const result = field("resend-result");
    const answer = await api("/resend-verification/", { method: "POST" });
    result.textContent = answer.ok
      ? "Sent: open the link in the email, then reserve again."
      : firstError(answer.data, "The link could not be sent. Please try again.");
  });

  return {
    open(spot, { window, here, located, restoreFocus }) {
      current = { spot, window };
      returnFocus = restoreFocus;
      clearErrors(form);
      hideOffers();
      dialog.querySelector("#spot-title").textContent = `Spot ${spot.id}`;
      field("rate").textContent = `${dollars(spot.rate)} an hour`;
      const length = minutesAsText(window.minutes);
      field("when").textContent = window.start ? `${nyDateTime(window.start)}, for ${length}` : `Now, for ${length}`;
      const walk = walkingDistance(metersBetween(here, { lat: +spot.lat, lng: +spot.lng }));
      field("walk").textContent = located ? walk : `${walk} from Midtown (your location is not shared)`;
      if (!dialog.open) dialog.showModal();
      showQuote(spot, window);
    },
    isOpen: () => dialog.open,
  };
}
