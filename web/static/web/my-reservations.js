// My reservations (/account/reservations/): active, upcoming and past, each a link to its page
// (and receipt), live from the reservation stream or, failing it, polling the API.
import { dollars, dollarsFromCents, nyDateTime, nyTime } from "./format.js";
import { hasStarted, isLive, myReservations, statusBadge } from "./reservation-routes.js";
import { watchReservations } from "./reservation-stream.js";
import { token } from "./session.js";

const $ = (selector) => document.querySelector(selector);
const known = new Map();
const EVENT_TEXT = {
  created: "booked",
  confirmed: "confirmed",
  amended: "changed",
  ended: "ended",
  charged: "charged",
  payment_failed: "payment failed",
  cancelled: "cancelled",
};

function groupOf(reservation, now = Date.now()) {
  if (!isLive(reservation) || new Date(reservation.end_time).getTime() <= now) return "past";
  return hasStarted(reservation, now) ? "active" : "upcoming";
}

function amountOf(reservation) {
  if (groupOf(reservation) !== "past") return `${dollars(reservation.rate)}/h`;
  if (reservation.amount_cents == null) return "No charge";
  const amount = dollarsFromCents(reservation.amount_cents);
  return reservation.fee_waived ? `${amount} waived` : amount;
}

function row(reservation) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.className = "reservation-row";
  link.href = `/reservations/${reservation.id}/`;
  const what = document.createElement("span");
  const title = document.createElement("strong");
  title.textContent = `Spot ${reservation.parking_spot} `;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = `${nyDateTime(reservation.start_time)} to ${nyTime(reservation.end_time)}`;
  what.append(title, statusBadge(reservation), when);
  const amount = document.createElement("span");
  amount.className = "amount";
  amount.textContent = amountOf(reservation);
  link.append(what, amount);
  item.append(link);
  return item;
}

function render() {
  const groups = { active: [], upcoming: [], past: [] };
  for (const reservation of known.values()) groups[groupOf(reservation)].push(reservation);
  const byStart = (a, b) => new Date(a.start_time) - new Date(b.start_time);
  groups.active.sort(byStart);
  groups.upcoming.sort(byStart);
  groups.past.sort((a, b) => byStart(b, a));
  for (const [name, list] of Object.entries(groups)) {
    $(`[data-list="${name}"]`).replaceChildren(...list.map(row));
    $(`[data-empty="${name}"]`).hidden = list.length > 0;
  }
}

function remember(list) {
  for (const reservation of list) known.set(reservation.id, reservation);
  render();
}

async function readAll() {
  const mine = await myReservations();
  return mine ? [...mine.live, ...mine.ended] : null;
}

async function start() {
  $("[data-loading]").hidden = true;
  if (!token()) {
    $("[data-signed-out]").hidden = false;
    return;
  }
  const list = await readAll();
  if (!list) {
    if (!token()) $("[data-signed-out]").hidden = false; // the token had expired
    else {
      $("[data-problem]").textContent = "Your reservations cannot be loaded. Try again soon.";
      $("[data-problem]").hidden = false;
    }
    return;
  }
  $("[data-lists]").hidden = false;
  remember(list);
  setInterval(render, 30000); // upcoming becomes active, active past, by the clock
  watchReservations({
    credentials: { token: token() },
    onReservations: remember,
    onEvent(event, reservation) {
      remember([reservation]);
      const text = EVENT_TEXT[event];
      if (text) {
        $("[data-announce]").textContent = `Reservation at spot ${reservation.parking_spot} ${text}.`;
      }
    },
    poll: readAll,
  });
}

start();
