// The find page (`/`): the map and the list of spots free for the chosen window, kept live,
// and a spot's panel to price and reserve it. The pieces: map.js (Leaflet), live.js (the live
// feed), spots.js (the radius search, polled), panel.js (quote and reserve).
import { dollars, fromNewYorkInput, metersBetween, nyDateTime, toNewYorkInput, walkingDistance } from "./format.js";
import { pageConfig } from "./forms.js";
import { liveAvailability } from "./live.js";
import { createMap, MIDTOWN } from "./map.js";
import { spotPanel } from "./panel.js";
import { pollSpots, searchOnce, SEARCH_LIMIT } from "./spots.js";

const LIST_ROWS = 50; // the nearest; the map shows them all
const MOVE_SETTLE_MS = 300; // one resubscription per pan, not one per animation frame

const config = pageConfig();
const form = document.getElementById("search-form");
const status = document.getElementById("map-status");
const list = document.getElementById("spot-list");
const summary = document.getElementById("list-summary");

const state = {
  here: MIDTOWN,
  located: false,
  spots: new Map(), // id → spot JSON: what the current source says is free
  pickedId: null,
};
let liveFailed = false; // the socket could not serve: poll instead until the page reloads

const mapElement = document.getElementById("map");
const map = createMap(mapElement, {
  tileUrl: config.map_tile_url,
  attribution: config.map_tile_attribution,
  center: MIDTOWN,
  onTileError: () => (document.getElementById("tile-note").hidden = false),
  onPick: (id) => openSpot(id, null),
  onMove: settle(refresh),
});
const panel = spotPanel({
  dialog: document.getElementById("spot-panel"),
  onSpotTaken: (id) => {
    state.spots.delete(id);
    render();
    refresh();
  },
  onClose: () => map.pick(null),
});

function settle(action) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, MOVE_SETTLE_MS);
  };
}

// --- The window: now, or a start up to the booking limit ahead; and how long.
function chosenWindow() {
  const minutes = Number(form.elements.duration.value);
  if (form.elements.when.value !== "later") return { minutes, start: null, end: null };
  const start = fromNewYorkInput(form.elements.start.value);
  if (!start || start <= new Date()) return { minutes, start: null, end: null };
  return { minutes, start, end: new Date(start.getTime() + minutes * 60000) };
}

function showWindowControls() {
  const later = form.elements.when.value === "later";
  form.querySelector("[data-later]").hidden = !later;
  const input = form.elements.start;
  const now = new Date();
  input.min = toNewYorkInput(now);
  input.max = toNewYorkInput(new Date(now.getTime() + config.max_days_ahead * 86400000));
  if (later && !input.value) input.value = toNewYorkInput(new Date(now.getTime() + 3600000));
  const start = fromNewYorkInput(input.value);
  document.getElementById("start-zone").textContent = start ? `That is ${nyDateTime(start)}.` : "";
}

function maxPrice() {
  const value = form.elements.max_price.value;
  return value ? Number(value) : Infinity;
}

// --- Where the spots come from: the live feed for "now", else the search, polled.
let source = null; // "live" or "search"
let stopPolling = () => {};
let liveRetry = null;

function refresh() {
  const window = chosenWindow();
  const box = map.box();
  const center = map.center();
  stopPolling();
  if (!window.start && !liveFailed && boxFitsLiveFeed(box)) {
    // A pan keeps the socket and only changes its box.
    if (source !== "live") firstPicture(box, center);
    source = "live";
    live.watch(box);
    return;
  }
  if (source === "live") live.stop();
  source = "search";
  say(
    window.start
      ? `Spots free from ${nyDateTime(window.start)} for the whole time, checked every few seconds.`
      : liveFailed
        ? "Live updates are unavailable: checking every few seconds."
        : `Zoom in to see spots live; showing the ${SEARCH_LIMIT} nearest the centre, checked every few seconds.`,
    !window.start,
  );
  stopPolling = pollSpots({
    box,
    center,
    window,
    onSpots: replaceSpots,
    onTrouble: () => say("The spots could not be loaded: trying again.", true),
  });
}

function boxFitsLiveFeed([south, west, north, east]) {
  const limit = config.live_max_box_degrees;
  return north - south <= limit && east - west <= limit;
}

const live = liveAvailability({
  onSnapshot: (spots) => {
    snapshotSeen = true;
    replaceSpots(spots);
  },
  onChanges: ({ taken, freed, updated }) => {
    for (const id of taken) state.spots.delete(id);
    for (const spot of freed) state.spots.set(spot.id, spot);
    for (const spot of updated) if (state.spots.has(spot.id)) state.spots.set(spot.id, spot);
    render();
  },
  onState: (liveState) => {
    if (liveState === "live") say("Live: spots update as they are taken and freed.");
    if (liveState === "box-refused") fallBackToSearch("Too many spots here to follow live: zoom in.");
    if (liveState === "down") fallBackToSearch("Live updates are interrupted: checking every few seconds.");
  },
});
let snapshotSeen = false;

// A first picture from the search while the socket connects; its snapshot replaces it.
function firstPicture(box, center) {
  snapshotSeen = false;
  searchOnce({ box, center, window: {} }).then((spots) => {
    if (spots && !snapshotSeen && source === "live") replaceSpots(spots);
  });
}

function fallBackToSearch(message) {
  liveFailed = true;
  refresh();
  say(message, true);
  // Try the feed again a little later: a restarted socket server should not mean polling forever.
  clearTimeout(liveRetry);
  liveRetry = setTimeout(() => {
    liveFailed = false;
    if (source === "search" && !chosenWindow().start) refresh();
  }, 30000);
}

function replaceSpots(spots) {
  state.spots = new Map(spots.map((spot) => [spot.id, spot]));
  render();
}

function say(message, warn = false) {
  if (status.textContent !== message) status.textContent = message;
  status.classList.toggle("warn", warn);
}

// --- Showing them: the map, and the list nearest the driver first.
let renderQueued = false;
let firstSpotsMarked = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const limit = maxPrice();
    const visible = [...state.spots.values()].filter((spot) => Number(spot.rate) <= limit);
    map.show(visible);
    map.pick(state.pickedId);
    // How many markers are drawn: the canvas has no DOM to count (tests, debugging).
    mapElement.dataset.markers = String(visible.length);
    if (visible.length && !firstSpotsMarked) {
      firstSpotsMarked = true;
      performance.mark("first-spots"); // the page benchmark's "first spots on the map"
    }
    renderList(visible);
  });
}

function renderList(visible) {
  const withDistance = visible
    .map((spot) => ({ spot, meters: metersBetween(state.here, { lat: +spot.lat, lng: +spot.lng }) }))
    .sort((a, b) => a.meters - b.meters)
    .slice(0, LIST_ROWS);
  // Keep the keyboard where it was when a live change redraws the list.
  const focusedId = document.activeElement?.closest?.("#spot-list")
    ? document.activeElement.dataset.spotId
    : null;
  const rows = withDistance.map(({ spot, meters }) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "row-button";
    button.dataset.spotId = spot.id;
    const price = document.createElement("span");
    price.className = "spot-price";
    price.textContent = `${dollars(spot.rate)}/h`;
    const walk = document.createElement("span");
    walk.className = "spot-walk";
    walk.textContent = `Spot ${spot.id} · ${walkingDistance(meters)}`;
    button.append(walk, price);
    button.addEventListener("click", () => openSpot(spot.id, button));
    item.append(button);
    return item;
  });
  list.replaceChildren(...rows);
  if (focusedId) list.querySelector(`[data-spot-id="${focusedId}"]`)?.focus();
  const shown = visible.length;
  summary.textContent = !shown
    ? "No free spots in this area for this window. Try moving the map or another time."
    : shown > LIST_ROWS
      ? `The ${LIST_ROWS} nearest of ${shown} on the map.`
      : `${shown} on the map.`;
}

function openSpot(id, opener) {
  const spot = state.spots.get(id);
  if (!spot) return;
  state.pickedId = id;
  map.pick(id);
  panel.open(spot, {
    window: chosenWindow(),
    here: state.here,
    located: state.located,
    // Back to the row that opened it, or this spot's row if the map did (rows are redrawn).
    restoreFocus: () => {
      state.pickedId = null;
      const row = list.querySelector(`[data-spot-id="${id}"]`);
      (opener?.isConnected ? opener : row || document.getElementById("map")).focus();
    },
  });
}

// --- The driver's location, asked for politely: on the button, or at once if already allowed.
function locate() {
  if (!navigator.geolocation) {
    say("Your browser cannot share a location: showing Midtown.");
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => {
      state.here = { lat: position.coords.latitude, lng: position.coords.longitude };
      state.located = true;
      map.showHere(state.here); // moving the map refreshes the spots
      render();
    },
    () => say("Your location is not available: showing Midtown. Move the map to look elsewhere."),
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
  );
}

document.getElementById("locate").addEventListener("click", locate);
form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("change", (event) => {
  if (event.target.name === "max_price") {
    render();
    return;
  }
  showWindowControls();
  refresh();
});

showWindowControls();
refresh();
navigator.permissions
  ?.query({ name: "geolocation" })
  .then((permission) => permission.state === "granted" && locate())
  .catch(() => {});
