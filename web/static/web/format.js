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

// New York wall time for an <input type="datetime-local"> ("2026-12-04T15:30"), whatever the
// browser's own zone: people type times as the street signs show them.
const wallFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

export function newYorkInputValue(iso) {
  const parts = Object.fromEntries(
    wallFormat.formatToParts(new Date(iso)).map(({ type, value }) => [type, value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

// The instant (ISO, UTC) of a New York wall time typed in a datetime-local input, or null.
// The zone's offset is found by formatting a first guess back (twice, for the days the clocks
// change).
export function fromNewYorkInputValue(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!match) return null;
  const [, year, month, day, hour, minute] = match.map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let instant = wall;
  for (let i = 0; i < 2; i += 1) {
    const shown = fromInputAsUtc(newYorkInputValue(new Date(instant).toISOString()));
    instant += wall - shown;
  }
  return new Date(instant).toISOString();
}

function fromInputAsUtc(value) {
  const [date, time] = value.split("T");
  const [year, month, day] = date.split("-").map(Number);
  const [hour, minute] = time.split(":").map(Number);
  return Date.UTC(year, month - 1, day, hour, minute);
}
