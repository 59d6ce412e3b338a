// Who the driver is in this tab. The API token lives in sessionStorage: it goes with the tab,
// never into a URL or localStorage (docs/web.md). Guests are known by reservation id + email,
// remembered for this tab only, as the emailed manage link can always bring them back.

const TOKEN = "sms.token";
const EMAIL = "sms.email";
const GUESTS = "sms.guest-reservations";

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function signedInEmail() {
  return sessionStorage.getItem(TOKEN) ? sessionStorage.getItem(EMAIL) : null;
}

export function signIn({ email, token }) {
  sessionStorage.setItem(TOKEN, token);
  sessionStorage.setItem(EMAIL, email);
  document.dispatchEvent(new CustomEvent("session-changed"));
}

export function forget() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(EMAIL);
  document.dispatchEvent(new CustomEvent("session-changed"));
}

function guests() {
  try {
    return JSON.parse(sessionStorage.getItem(GUESTS) || "{}");
  } catch {
    return {};
  }
}

export function rememberGuestReservation(id, email) {
  sessionStorage.setItem(GUESTS, JSON.stringify({ ...guests(), [id]: email }));
}

export function guestEmailFor(id) {
  return guests()[id] || null;
}
