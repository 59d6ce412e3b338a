// The map: Leaflet drawing every spot as a circle on one canvas (`preferCanvas`), which stays
// smooth with thousands of spots where one DOM marker each would not. Tiles are decoration:
// when they fail (no network) the markers still show over the map's plain background.
const L = window.L;

export const MIDTOWN = { lat: 40.7549, lng: -73.984 };
const START_ZOOM = 16; // a few blocks across on a phone: well inside the live feed's box limit

const SPOT_STYLE = { radius: 7, color: "#1e3a8a", weight: 2, fillColor: "#2563eb", fillOpacity: 0.9 };
const PICKED_STYLE = { radius: 10, color: "#92400e", weight: 3, fillColor: "#f59e0b", fillOpacity: 1 };
const HERE_STYLE = { radius: 8, color: "#ffffff", weight: 3, fillColor: "#166534", fillOpacity: 1 };

export function createMap(element, { tileUrl, attribution, center, onTileError, onPick, onMove }) {
  const map = L.map(element, { preferCanvas: true }).setView([center.lat, center.lng], START_ZOOM);
  // A finger is wider than a 7-pixel circle: taps this close still hit it.
  const renderer = L.canvas({ tolerance: 8 });
  const tiles = L.tileLayer(tileUrl, { attribution, maxZoom: 19 });
  tiles.on("tileerror", onTileError);
  tiles.addTo(map);
  const spots = L.layerGroup().addTo(map);
  const markers = new Map();
  let picked = null;
  let here = null;
  map.on("moveend", onMove);

  function place(spot) {
    const marker = L.circleMarker([+spot.lat, +spot.lng], { renderer, ...SPOT_STYLE });
    marker.spotId = spot.id;
    marker.on("click", () => onPick(marker.spotId));
    markers.set(spot.id, marker);
    spots.addLayer(marker);
  }

  return {
    // Show exactly these spots, touching only the markers that changed.
    show(visible) {
      const wanted = new Set();
      for (const spot of visible) {
        wanted.add(spot.id);
        const marker = markers.get(spot.id);
        if (!marker) place(spot);
        else if (marker.getLatLng().lat !== +spot.lat || marker.getLatLng().lng !== +spot.lng) {
          marker.setLatLng([+spot.lat, +spot.lng]);
        }
      }
      for (const [id, marker] of markers) {
        if (wanted.has(id)) continue;
        spots.removeLayer(marker);
        markers.delete(id);
      }
    },
    pick(id) {
      markers.get(picked)?.setStyle(SPOT_STYLE);
      picked = id;
      markers.get(id)?.setStyle(PICKED_STYLE).bringToFront();
    },
    showHere(point) {
      here?.remove();
      here = L.circleMarker([point.lat, point.lng], { renderer, interactive: false, ...HERE_STYLE });
      here.addTo(map);
      // A jump, not a glide: the driver's own spot is under the centre at once (and tests
      // clicking there find it), and the spots of the new view are asked for once.
      map.setView([point.lat, point.lng], Math.max(map.getZoom(), START_ZOOM), { animate: false });
      element.dataset.located = "true";
    },
    // [south, west, north, east], as the live feed takes a box.
    box() {
      const b = map.getBounds();
      return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].map((v) => +v.toFixed(6));
    },
    center() {
      const c = map.getCenter();
      return { lat: c.lat, lng: c.lng };
    },
    count: () => markers.size,
  };
}
