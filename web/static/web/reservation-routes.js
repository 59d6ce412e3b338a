// The API routes of one reservation, for its owner: a signed-in driver (the token goes with
// every call) or a guest (the reservation id and email are the credentials, in the path).
import { api } from "./api.js";

export function reservationRoutes(id, guestEmail) {
  const kind = guestEmail ? "unauth" : "auth";
  const tail = guestEmail ? `${id}/${encodeURIComponent(guestEmail)}/` : `${id}/`;
  return {
    update: `/update-reservation-${kind}/${tail}`,
    remove: `/delete-reservation-${kind}/${tail}`,
    cancel: `/cancel-reservation-${kind}/${tail}`,
  };
}

// A signed-in driver's reservations: {live, ended} (arrays, newest first), or null when they
// cannot be read (signed out, offline).
export async function myReservations() {
  const [live, ended] = await Promise.all([
    api("/reservation-auth/"),
    api("/expired-reservations-auth/"),
  ]);
  if (!live.ok || !ended.ok) return null;
  return { live: live.data, ended: ended.data };
}

// One reservation as the API shows it now: {ok, status, reservation}. The contract has no
// route for one reservation of a signed-in driver: it is found in their two lists.
export async function readReservation(id, guestEmail) {
  if (guestEmail) {
    const answer = await api(`/reservation-unauth/${id}/${encodeURIComponent(guestEmail)}/`, {
      auth: false,
    });
    return { ok: answer.ok, status: answer.status, reservation: answer.ok ? answer.data : null };
  }
  const mine = await myReservations();
  if (!mine) return { ok: false, status: 401, reservation: null };
  const found = [...mine.live, ...mine.ended].find((reservation) => reservation.id === id);
  return { ok: !!found, status: found ? 200 : 404, reservation: found || null };
}

export function hasStarted(reservation, now = Date.now()) {
  return new Date(reservation.start_time).getTime() <= now;
}

export function isLive(reservation) {
  return reservation.status === "pending_payment" || reservation.status === "confirmed";
}

// How a status reads on its badge, and the badge's colour.
export const STATUS_TEXT = {
  pending_payment: ["Awaiting payment", "warn"],
  confirmed: ["Confirmed", "ok"],
  ended: ["Ended", ""],
  cancelled: ["Cancelled", ""],
  expired: ["Expired unpaid", ""],
  payment_failed: ["Payment failed", "bad"],
};

export function statusBadge(reservation) {
  const badge = document.createElement("span");
  const [text, tone] = STATUS_TEXT[reservation.status] || [reservation.status, ""];
  const upcoming = reservation.status === "confirmed" && !hasStarted(reservation);
  badge.className = `badge ${upcoming ? "" : tone}`.trim();
  badge.textContent = upcoming ? "Upcoming" : text;
  return badge;
}
