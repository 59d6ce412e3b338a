// Spots from the radius search (`/available-parking-spots-filter`), for when the live feed
// cannot serve: a window that starts later (the feed is only about now), a box wider than the
// feed takes, or no socket. Always with a `limit`: never the whole city.
import { metersBetween } from "./format.js";

export const SEARCH_LIMIT = 1000; // the route's maximum
const MAX_RADIUS_KM = 50;
const POLL_MS = 5000;

// The radius that covers the map's box from its centre.
function radiusKm(box, center) {
  const [south, west, north, east] = box;
  const corner = metersBetween(center, { lat: north, lng: east });
  const other = metersBetween(center, { lat: south, lng: west });
  return Math.min(MAX_RADIUS_KM, Math.max(corner, other) / 1000 + 0.05);
}

async function search({ box, center, window, etag }) {
  const params = new URLSearchParams({
    lat: center.lat.toFixed(6),
    lng: center.lng.toFixed(6),
    unit: "km",
    dist: radiusKm(box, center).toFixed(3),
    limit: String(SEARCH_LIMIT),
  });
  if (window.start) {
    params.set("start", window.start.toISOString());
    params.set("end", window.end.toISOString());
  }
  const headers = { Accept: "application/json" };
  if (etag) headers["If-None-Match"] = etag;
  // Plain fetch, not api.js: this route needs no token, and a 304 must keep the spots we have.
  const response = await fetch(`/available-parking-spots-filter?${params}`, { headers });
  if (response.status === 304) return { same: true, etag };
  if (!response.ok) throw new Error(`search answered ${response.status}`);
  return { spots: await response.json(), etag: response.headers.get("ETag") };
}

// Polls the search for one box and window every few seconds, asking "changed since?" with the
// last ETag, so an unchanged answer costs the server no JSON. `onSpots(spots)` on every change;
// `onTrouble()` when the search fails (tried again at the next turn).
export function pollSpots({ box, center, window, onSpots, onTrouble }) {
  let etag = null;
  let timer = null;
  let stopped = false;
  async function turn() {
    try {
      const answer = await search({ box, center, window, etag });
      if (stopped) return;
      etag = answer.etag;
      if (!answer.same) onSpots(answer.spots);
    } catch {
      if (!stopped) onTrouble();
    }
    if (!stopped) timer = setTimeout(turn, POLL_MS);
  }
  turn();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// One search, for a first picture of the map before the live feed's snapshot arrives.
export async function searchOnce({ box, center, window }) {
  try {
    return (await search({ box, center, window })).spots;
  } catch {
    return null;
  }
}
