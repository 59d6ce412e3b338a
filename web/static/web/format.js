// How people see times and money: New York time with its zone (EST or EDT as the date
// requires), dollars with cents. The API speaks UTC and strings of dollars or integer cents.

const ZONE = "America/New_York";

const timeFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: ZONE,
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});
const dateTimeFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: ZONE,
  weekday: "short",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});

export function nyTime(iso) {
  return iso ? timeFormat.format(new Date(iso)) : "";
}

export function nyDateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : "";
}

export function dollarsFromCents(cents) {
  return `$${(cents / 100).toFixed(2)}`;
}

// The API's decimal strings ("5.00") as shown to people.
export function dollars(amount) {
  return `$${Number(amount).toFixed(2)}`;
}

export function minutesAsText(minutes) {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (!hours) return `${rest} min`;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

export function countdown(milliseconds) {
  const total = Math.max(0, Math.round(milliseconds / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return `${minutes}:${seconds}`;
}

// Walking distance along streets is about 1.3 times the straight line in Manhattan's grid;
// 80 m a minute is an unhurried walk.
export function walkingDistance(meters) {
  const walked = meters * 1.3;
  const minutes = Math.max(1, Math.round(walked / 80));
  const distance = walked < 1000 ? `${Math.round(walked / 10) * 10} m` : `${(walked / 1000).toFixed(1)} km`;
  return `${distance}, about ${minutes} min walk`;
}

export function metersBetween(a, b) {
  const radians = Math.PI / 180;
  const dLat = (b.lat - a.lat) * radians;
  const dLng = (b.lng - a.lng) * radians;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * radians) * Math.cos(b.lat * radians) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

// <input type="datetime-local"> speaks wall-clock time with no zone; the driver means New York
// time whatever zone the phone is in, so convert through the zone's offset at that moment.
const wallClockParts = new Intl.DateTimeFormat("en-US", {
  timeZone: ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});

function newYorkWallClock(date) {
  return Object.fromEntries(wallClockParts.formatToParts(date).map((p) => [p.type, p.value]));
}

// Milliseconds New York's wall clock is ahead of UTC at `instant` (negative: behind).
function newYorkOffset(instant) {
  const p = newYorkWallClock(new Date(instant));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute) - Math.floor(instant / 60000) * 60000;
}

// "2026-12-05T09:30" in New York → the Date it is (twice round: the offset may change at the
// guessed instant, near the clocks changing).
export function fromNewYorkInput(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const guess = asUtc - newYorkOffset(asUtc);
  return new Date(asUtc - newYorkOffset(guess));
}

// A Date as a datetime-local value in New York time.
export function toNewYorkInput(date) {
  const p = newYorkWallClock(date);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
