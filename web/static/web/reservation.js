// The reservation page (/reservations/<id>/, and the emailed manage link for guests): pay while
// the hold lasts, then time left, extend, shorten, end now or cancel an advance booking, the
// reminder, and at the end the amount and a printable receipt. Live from the reservation stream,
// polling the API when the socket cannot be had (docs/web.md).
import { api, firstError } from "./api.js";
import {
  countdown,
  dollars,
  dollarsFromCents,
  fromNewYorkInput,
  minutesAsText,
  nyDateTime,
  toNewYorkInput,
} from "./format.js";
import { clearErrors, pageConfig, showErrors } from "./forms.js";
import {
  hasStarted,
  readReservation,
  reservationRoutes,
  statusBadge,
} from "./reservation-routes.js";
import { watchReservations } from "./reservation-stream.js";
import { guestEmailFor, rememberGuestReservation, token } from "./session.js";

const config = pageConfig();
const id = Number(config.reservation_id);
if (config.guest_email) rememberGuestReservation(id, config.guest_email);
const guestEmail = config.guest_email || guestEmailFor(id);
const routes = reservationRoutes(id, guestEmail);
const REMINDER_MS = (config.reminder_minutes || 15) * 60000;
// Screen readers hear the time left at these minutes, not every second.
const ANNOUNCED_MINUTES = new Set([120, 60, 30, 15, 10, 5, 4, 3, 2, 1]);

const $ = (selector) => document.querySelector(selector);
const page = {
  loading: $("[data-loading]"),
  problem: $("[data-problem]"),
  announce: $("[data-announce]"),
  live: $("[data-live]"),
  fallback: $("[data-fallback]"),
  reminder: $("[data-reminder]"),
  pay: $("[data-pay]"),
  clock: $("[data-clock]"),
  clockTitle: $("[data-clock-title]"),
  timeLeft: $("[data-time-left]"),
  clockUntil: $("[data-clock-until]"),
  changes: $("[data-changes]"),
  extendForm: $("[data-extend-form]"),
  endTimeForm: $("[data-end-time-form]"),
  endSection: $("[data-end-section]"),
  endTitle: $("[data-end-title]"),
  endHint: $("[data-end-hint]"),
  endAsk: $("[data-end-ask]"),
  endButton: $("[data-end-button]"),
  endConfirm: $("[data-end-confirm]"),
  endQuestion: $("[data-end-question]"),
  endYes: $("[data-end-yes]"),
  endNo: $("[data-end-no]"),
  endError: $("[data-end-error]"),
  outcome: $("[data-outcome]"),
  receiptTitle: $("[data-receipt-title]"),
  status: $("[data-status]"),
  facts: $("[data-facts]"),
  print: $("[data-print]"),
};

let current = null;
let payment = null; // pay.js's card step, while the reservation awaits payment
let prefilledEnd = null;
let lastAnnouncedMinutes = null;
let reminded = false;

function announce(text) {
  page.announce.textContent = text;
}

function show(node, visible) {
  node.hidden = !visible;
}

function ms(iso) {
  return new Date(iso).getTime();
}

function fact(term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  page.facts.append(dt, dd);
}

function minutesParked(reservation) {
  // Whole minutes, a started minute counting in full, as they are billed (reservations/pricing.py).
  return Math.max(0, Math.ceil((ms(reservation.end_time) - ms(reservation.start_time)) / 60000));
}

function card(reservation) {
  if (!reservation.card_last4) return "";
  const brand = reservation.card_brand || "card";
  return `${brand[0].toUpperCase()}${brand.slice(1)} ending ${reservation.card_last4}`;
}

function isSettling(reservation) {
  return reservation.status === "ended" || reservation.status === "payment_failed";
}

function renderFacts(reservation) {
  page.facts.replaceChildren();
  fact("Reservation", String(reservation.id));
  fact("Spot", `Spot ${reservation.parking_spot}`);
  fact("Starts", nyDateTime(reservation.start_time));
  fact("Ends", nyDateTime(reservation.end_time));
  fact("Rate", `${dollars(reservation.rate)} per hour`);
  if (isSettling(reservation)) {
    fact("Time parked", minutesAsText(minutesParked(reservation)));
    if (reservation.amount_cents != null) {
      const amount = dollarsFromCents(reservation.amount_cents);
      fact("Amount", reservation.fee_waived ? `${amount}, waived` : amount);
    }
    if (card(reservation)) fact("Card", card(reservation));
  }
  page.status.replaceChildren(statusBadge(reservation));
}

function outcomeNotice(tone, ...nodes) {
  const notice = document.createElement("div");
  notice.className = `notice ${tone}`; // spoken through the page's announcer, once
  notice.append(...nodes);
  return notice;
}

// The stream says whether the charge went through yet (charge_status); the API's JSON does not,
// and a reservation ended and not failed is charged or about to be.
function chargeText(reservation, amount) {
  const to = card(reservation) ? ` to your ${card(reservation)}` : "";
  const charging = ["pending", "retrying"].includes(reservation.charge_status);
  return charging ? `Charging ${amount}${to}…` : `Charged ${amount}${to}.`;
}

function renderOutcome(reservation) {
  const amount =
    reservation.amount_cents == null ? "" : dollarsFromCents(reservation.amount_cents);
  let notice = null;
  if (reservation.status === "ended") {
    notice = reservation.fee_waived
      ? outcomeNotice(
          "ok",
          `Nothing to pay: ${amount} is under the 50-cent minimum charge, so it is waived.`,
        )
      : outcomeNotice("ok", `Your reservation has ended. ${chargeText(reservation, amount)}`);
  } else if (reservation.status === "payment_failed") {
    const text = `Your reservation has ended, but the payment of ${amount} failed. `;
    // The API's JSON names the payment page payment_recovery_url, the stream's also pay_url.
    const recovery = reservation.payment_recovery_url || reservation.pay_url;
    if (recovery) {
      const link = document.createElement("a");
      link.href = recovery;
      link.className = "button";
      link.textContent = "Pay now";
      const actions = document.createElement("div");
      actions.className = "actions";
      actions.append(link);
      notice = outcomeNotice("bad", text, actions);
    } else {
      notice = outcomeNotice("bad", `${text}The email we sent has a link to pay.`);
    }
  } else if (reservation.status === "cancelled") {
    notice = outcomeNotice("", "This reservation was cancelled: nothing was charged.");
  } else if (reservation.status === "expired") {
    const link = document.createElement("a");
    link.href = "/";
    link.textContent = "Find another spot";
    notice = outcomeNotice(
      "",
      "The hold lapsed before payment: nothing was charged. ",
      link,
    );
  }
  page.outcome.replaceChildren(...(notice ? [notice] : []));
  show(page.outcome, !!notice);
}

function renderEndSection(reservation) {
  const started = hasStarted(reservation);
  page.endTitle.textContent = started ? "End now" : "Cancel this booking";
  page.endHint.textContent = started
    ? "Ending now frees the spot and charges the time used, by the minute."
    : "It has not started yet: cancelling is free.";
  page.endButton.textContent = started ? "End now" : "Cancel booking";
  page.endQuestion.textContent = started
    ? "End your reservation now and pay for the time used?"
    : "Cancel this booking? Nothing will be charged.";
  page.endYes.textContent = started ? "Yes, end now" : "Yes, cancel it";
  page.endButton.dataset.action = started ? "end" : "cancel";
}

function render(reservation) {
  const previous = current;
  current = reservation;
  renderFacts(reservation);
  const pending = reservation.status === "pending_payment";
  const confirmed = reservation.status === "confirmed" && ms(reservation.end_time) > Date.now();
  show(page.pay, pending);
  show(page.clock, confirmed);
  show(page.changes, confirmed);
  show(page.endSection, confirmed);
  show(page.print, isSettling(reservation));
  page.receiptTitle.textContent = isSettling(reservation) ? "Receipt" : "Reservation";
  if (pending) mountPay(reservation);
  else if (payment) {
    payment.unmount();
    payment = null;
  }
  if (confirmed) {
    renderEndSection(reservation);
    if (prefilledEnd !== reservation.end_time && document.activeElement?.name !== "end_time") {
      page.endTimeForm.elements.end_time.value = toNewYorkInput(new Date(reservation.end_time));
      prefilledEnd = reservation.end_time;
    }
  } else {
    show(page.reminder, false);
  }
  renderOutcome(reservation);
  if (previous && previous.status !== reservation.status) {
    announce(page.outcome.textContent || `Status: ${page.status.textContent}`);
  }
  tick();
}

// pay.js shows the hold's countdown and the card step; loaded only when there is something to
// pay. Its events say when to read the reservation again.
async function mountPay(reservation) {
  if (payment) return;
  payment = { unmount() {} }; // mounting
  try {
    const { mountPayment } = await import("./pay.js");
    if (current.status === "pending_payment") {
      payment = mountPayment(page.pay, reservation, { guestEmail });
    }
  } catch {
    page.pay.textContent = "The payment form cannot be loaded. Reload the page to try again.";
  }
}

page.pay.addEventListener("payment-confirmed", () => {
  announce("Card saved: your reservation is confirmed.");
  refresh();
});
page.pay.addEventListener("hold-lapsed", refresh);

// Once a second: the countdown on screen, the time left spoken at a few moments.
function tick() {
  if (!current) return;
  const now = Date.now();
  if (current.status !== "confirmed") return; // pay.js counts the hold down
  const started = hasStarted(current, now);
  const until = started ? ms(current.end_time) : ms(current.start_time);
  const left = until - now;
  page.clockTitle.textContent = started ? "Time left" : "Starts in";
  page.timeLeft.textContent = left > 3600000 ? timeAsHours(left) : countdown(left);
  page.clockUntil.textContent = started
    ? `Until ${nyDateTime(current.end_time)}`
    : `On ${nyDateTime(current.start_time)}`;
  const minutes = Math.ceil(left / 60000);
  if (started && minutes !== lastAnnouncedMinutes && ANNOUNCED_MINUTES.has(minutes)) {
    lastAnnouncedMinutes = minutes;
    announce(`${minutesAsText(minutes)} left`);
  }
  if (started && left <= REMINDER_MS && minutesParked(current) * 60000 > REMINDER_MS) {
    showReminder();
  }
  if (left <= 0) refresh(); // the end (or the start) came: the API says what happened
}

function timeAsHours(milliseconds) {
  const minutes = Math.floor(milliseconds / 60000);
  return minutesAsText(minutes);
}

function showReminder() {
  if (reminded || current?.status !== "confirmed") return;
  reminded = true;
  page.reminder.textContent = `Your reservation ends at ${nyDateTime(current.end_time)}, in less than ${minutesAsText(Math.ceil(REMINDER_MS / 60000))}. Extend it below if you need more time.`;
  show(page.reminder, true);
}

async function refresh() {
  const answer = await readReservation(id, guestEmail);
  if (answer.ok) render(answer.reservation);
}

async function changeEnd(form, endTime) {
  clearErrors(form);
  const answer = await api(routes.update, {
    method: "PATCH",
    body: { reservation: { end_time: endTime } },
    auth: !guestEmail,
  });
  if (!answer.ok) {
    showErrors(form, answer.data);
    return;
  }
  const longer = ms(answer.data.end_time) > ms(current.end_time);
  reminded = reminded && !longer;
  show(page.reminder, reminded);
  render(answer.data);
  announce(
    answer.data.status === "confirmed"
      ? `Done: your reservation now ends at ${nyDateTime(answer.data.end_time)}.`
      : page.outcome.textContent,
  );
}

page.extendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const minutes = Number(event.submitter?.value || 15);
  changeEnd(page.extendForm, new Date(ms(current.end_time) + minutes * 60000).toISOString());
});

page.endTimeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const endTime = fromNewYorkInput(page.endTimeForm.elements.end_time.value);
  if (!endTime) {
    showErrors(page.endTimeForm, { end_time: ["Enter a date and time."] });
    return;
  }
  changeEnd(page.endTimeForm, endTime.toISOString());
});

page.endButton.addEventListener("click", () => {
  show(page.endAsk, false);
  show(page.endConfirm, true);
  page.endQuestion.focus();
});

page.endNo.addEventListener("click", () => {
  show(page.endConfirm, false);
  show(page.endAsk, true);
  page.endButton.focus();
});

page.endYes.addEventListener("click", async () => {
  page.endError.textContent = "";
  page.endYes.disabled = true;
  const cancelling = page.endButton.dataset.action === "cancel";
  const answer = cancelling
    ? await api(routes.cancel, { method: "POST", auth: !guestEmail })
    : await api(routes.remove, { method: "DELETE", auth: !guestEmail });
  page.endYes.disabled = false;
  show(page.endConfirm, false);
  show(page.endAsk, true);
  if (!answer.ok) {
    page.endError.textContent = firstError(answer.data);
    page.endError.focus();
    return;
  }
  if (answer.data?.id) render(answer.data);
  else await refresh();
  page.outcome.querySelector(".notice")?.setAttribute("tabindex", "-1");
  page.outcome.querySelector(".notice")?.focus();
});

$("[data-print-button]").addEventListener("click", () => window.print());

function notYours(status) {
  show(page.loading, false);
  if (page.fallback) return; // the server's page (the manage link) stands as it is
  if (status === 401 || (!guestEmail && !token())) {
    const link = document.createElement("a");
    link.href = `/account/sign-in/?next=${encodeURIComponent(location.pathname)}`;
    link.textContent = "Sign in";
    page.problem.replaceChildren(
      link,
      " to see this reservation, or open the link in your confirmation email.",
    );
  } else {
    page.problem.textContent =
      "This reservation was not found. Check the link in your confirmation email.";
  }
  show(page.problem, true);
}

async function start() {
  if (!guestEmail && !token()) {
    notYours(401);
    return;
  }
  const answer = await readReservation(id, guestEmail);
  if (!answer.ok) {
    notYours(answer.status);
    return;
  }
  show(page.loading, false);
  if (page.fallback) page.fallback.hidden = true;
  show(page.live, true);
  render(answer.reservation);
  setInterval(tick, 1000);
  watchReservations({
    credentials: guestEmail ? { reservation: id, email: guestEmail } : { token: token() },
    onReservations(list) {
      const mine = list.find((reservation) => reservation.id === id);
      if (mine) render(mine);
    },
    onEvent(event, reservation) {
      if (reservation.id !== id) return;
      render(reservation);
      if (event === "reminder_sent") showReminder();
    },
    async poll() {
      const latest = await readReservation(id, guestEmail);
      return latest.ok ? [latest.reservation] : null;
    },
  });
}

start();
