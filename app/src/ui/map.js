// The map screen's side in the webview: the body of one long-lived `document::eval` (see
// map.rs). It creates the map and puts `draw(data)` and `center()` on
// `window.__avondronde_map`, which later short evals call with a MapData; it sends back
// what the worker does on the map: { kind: "pin", lat, lon } for a tap or a drag in
// picking mode, { kind: "tiles", ok } when the basemap fails or comes back,
// { kind: "ready" } once the map exists and { kind: "drawn", ms } after the first draw.
// Nothing here fetches anything but the basemap tiles; the vector layers come from the
// app's own data.
//
// Stacking, bottom to top (rev3 finding 7): the position (a ring with its accuracy
// circle) under everything the worker recorded, then the wijk, area rules and
// hangplekken, then this round's contacts, their stack numbers, the names, and the pin.
// Contacts recorded where the worker stands are the usual case: they must never hide
// under the position.
//
// It never calls `dioxus.recv()`: in liveview that busy-waits on the page's only thread
// until a message is queued, and the message can then never arrive.
const started = performance.now();
let el = null;
for (let i = 0; i < 300 && !el; i++) {
  el = document.getElementById("avondronde-map");
  if (!el) await new Promise((r) => setTimeout(r, 10));
}
if (!el || !window.L) return "no-map";
const old = window.__avondronde_map;
if (old) {
  if (old.watch !== undefined && navigator.geolocation) navigator.geolocation.clearWatch(old.watch);
  try { old.map.remove(); } catch (_) { /* already gone with its element */ }
}
const map = L.map(el, { zoomControl: false, attributionControl: true, zoomSnap: 0.5 });
// Leaflet's own control, with Dutch names (its defaults are English).
L.control.zoom({ zoomInTitle: 'Inzoomen', zoomOutTitle: 'Uitzoomen' }).addTo(map);
map.attributionControl.setPrefix(false);
// A view first: Leaflet cannot place a vector layer on a map without one. The data's
// bounds replace it as soon as they arrive.
map.setView([51.92, 4.48], 13);
const mine = { map, draw: (d) => draw(d), center: () => center(), pin: () => pin && pin.getLatLng() };
window.__avondronde_map = mine;
const vectors = L.layerGroup().addTo(map);
// Leaflet's overlay pane (the wijk, rules, hangplekken) is at 400 and its marker pane
// (the pin) at 600.
map.createPane("position").style.zIndex = 390;
map.createPane("contacts").style.zIndex = 450;
map.createPane("stacks").style.zIndex = 460;
map.createPane("rulelabels").style.zIndex = 470;
for (const name of ["position", "contacts", "stacks", "rulelabels"]) map.getPane(name).style.pointerEvents = "none";
// The hatching of area rules: an SVG pattern the rules' paths fill with (CSS
// `.map-rule { fill: url(#avondronde-hatch) }`), in the page once.
if (!document.getElementById("avondronde-hatch")) {
  const defs = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  defs.setAttribute("width", "0");
  defs.setAttribute("height", "0");
  defs.setAttribute("aria-hidden", "true");
  defs.style.position = "absolute";
  defs.innerHTML = '<defs><pattern id="avondronde-hatch" patternUnits="userSpaceOnUse" width="10" height="10" patternTransform="rotate(45)">'
    + '<rect width="10" height="10" fill="#ff7ad9" fill-opacity="0.12"></rect>'
    + '<line x1="0" y1="0" x2="0" y2="10" stroke="#ff7ad9" stroke-width="3"></line></pattern></defs>';
  document.body.appendChild(defs);
}
// The hangplekken's names only from street level up: zoomed out they would hide the map.
const labels = () => el.classList.toggle("labels-hidden", map.getZoom() < 16);
map.on("zoomend", labels);
window.scrollTo(0, 0);
const pinIcon = L.divIcon({ className: "map-pin", html: "<span></span>", iconSize: [40, 40], iconAnchor: [20, 38] });
let pin = null;
let tiles = null;
let tileUrl = null;
let tilesFailed = false;
let picking = false;
let fitted = false;
let drawn = false;

function sendPin(latlng) {
  dioxus.send({ kind: "pin", lat: Math.round(latlng.lat * 1e6) / 1e6, lon: Math.round(latlng.lng * 1e6) / 1e6 });
}

map.on("click", (e) => {
  if (!picking) return;
  if (pin) pin.setLatLng(e.latlng); else drawPin(e.latlng);
  sendPin(e.latlng);
});

function drawPin(at) {
  pin = L.marker(at, { icon: pinIcon, draggable: picking, keyboard: false, title: "Speld", alt: "Speld", zIndexOffset: 1000 });
  pin.on("dragend", () => sendPin(pin.getLatLng()));
  pin.addTo(map);
}

function setBasemap(url) {
  if (url === tileUrl) return;
  if (tiles) tiles.remove();
  tiles = null;
  tileUrl = url;
  if (!url) return;
  tiles = L.tileLayer(url, { maxZoom: 19, minZoom: 6, className: "basemap", attribution: "Kaart: PDOK BRT" });
  tiles.on("tileerror", () => {
    if (!tilesFailed) { tilesFailed = true; dioxus.send({ kind: "tiles", ok: false }); }
  });
  tiles.on("tileload", () => {
    if (tilesFailed) { tilesFailed = false; dioxus.send({ kind: "tiles", ok: true }); }
  });
  tiles.addTo(map);
}

function draw(d) {
  mine.last = d;
  picking = d.picking;
  el.classList.toggle("picking", picking);
  setBasemap(d.basemap);
  vectors.clearLayers();
  ruleLabels = [];
  const bounds = L.latLngBounds([]);
  for (const poly of d.outline) {
    const layer = L.polygon(poly, { className: "map-outline", color: "#ffd400", weight: 3, fillColor: "#ffd400", fillOpacity: 0.06, interactive: false });
    layer.addTo(vectors);
    bounds.extend(layer.getBounds());
  }
  for (const r of d.rules || []) {
    const layer = L.polygon(r.area, {
      className: r.in_force ? "map-rule in-force" : "map-rule", color: "#ff7ad9", weight: r.in_force ? 3 : 2,
      dashArray: r.in_force ? null : "8 6", fillColor: "#ff7ad9", fillOpacity: r.in_force ? 1 : 0.55, interactive: false,
    }).addTo(vectors);
    // The name just inside the top edge of the area's visible part, where it covers no
    // contact in the middle (placed by `placeRuleLabels`).
    const esc = (t) => t.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
    const marker = L.marker(layer.getBounds().getCenter(), {
      pane: "rulelabels", interactive: false, keyboard: false,
      icon: L.divIcon({ className: "map-rule-label", html: `<span>${esc(r.label)}</span>`, iconSize: null }),
    }).addTo(vectors);
    ruleLabels.push({ layer, marker });
  }
  for (const p of d.places) {
    L.circleMarker(p.at, { className: "map-place", radius: 10, color: "#5cb8ff", weight: 3, fillColor: "#0b2f4a", fillOpacity: 1, interactive: false })
      .bindTooltip(p.name, { permanent: true, direction: "right", offset: [10, 0], className: "map-label" })
      .addTo(vectors);
    bounds.extend(p.at);
  }
  for (const c of d.contacts) {
    L.circleMarker(c.at, { pane: "contacts", className: c.alert ? "map-contact alert" : "map-contact", radius: 8, color: "#000", weight: 2, fillColor: c.alert ? "#ff5c5c" : "#3ddc84", fillOpacity: 1, interactive: false })
      .addTo(vectors);
    // Several contacts at one spot: their number beside the dot, up and to the right.
    if ((c.count || 1) > 1) {
      L.marker(c.at, {
        pane: "stacks", interactive: false, keyboard: false,
        icon: L.divIcon({ className: "map-stack", html: `<span aria-label="${c.count} contacten op deze plek">${c.count}</span>`, iconSize: [26, 26], iconAnchor: [-3, 27] }),
      }).addTo(vectors);
    }
    bounds.extend(c.at);
  }
  if (d.pin) {
    if (pin) pin.setLatLng(d.pin); else drawPin(d.pin);
    if (pin.dragging) { if (picking) pin.dragging.enable(); else pin.dragging.disable(); }
    bounds.extend(d.pin);
  } else if (pin) {
    pin.remove();
    pin = null;
  }
  if (!fitted) {
    fitted = true;
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17, animate: false });
    labels();
  }
  placeRuleLabels();
  if (!drawn) {
    drawn = true;
    dioxus.send({ kind: "drawn", ms: Math.round(performance.now() - started) });
  }
}

// Each area rule's name at the top of the part of the area in view, centred, and clear
// of the zoom buttons in the top left corner; hidden when too little of the area shows.
let ruleLabels = [];
function placeRuleLabels() {
  const size = map.getSize();
  for (const { layer, marker } of ruleLabels) {
    const span = marker.getElement() && marker.getElement().firstChild;
    if (!span) continue;
    const b = layer.getBounds();
    const nw = map.latLngToContainerPoint(b.getNorthWest());
    const se = map.latLngToContainerPoint(b.getSouthEast());
    const top = Math.max(nw.y, 0);
    const left = Math.max(nw.x, 0);
    const right = Math.min(se.x, size.x);
    const visible = Math.min(se.y, size.y) - top > 40 && right - left > 60;
    span.style.display = visible ? "" : "none";
    if (!visible) continue;
    const half = span.offsetWidth / 2;
    const clearOfZoom = top < 112 ? 66 : 6;
    const x = Math.max(Math.min((left + right) / 2, size.x - 6 - half), clearOfZoom + half);
    marker.setLatLng(map.containerPointToLatLng([x, top]));
  }
}
map.on("move zoomend", placeRuleLabels);

function center() {
  if (here) map.setView(here, Math.max(map.getZoom(), 17));
}

// The position and its accuracy circle, straight from the platform, live.
let accuracy = null;
let dot = null;
let here = null;
if (navigator.geolocation) {
  mine.watch = navigator.geolocation.watchPosition((p) => {
    if (!el.isConnected) { navigator.geolocation.clearWatch(mine.watch); return; }
    here = [p.coords.latitude, p.coords.longitude];
    if (!accuracy) {
      accuracy = L.circle(here, { radius: p.coords.accuracy, pane: "position", className: "map-accuracy", color: "#5cb8ff", weight: 1, fillColor: "#5cb8ff", fillOpacity: 0.12, interactive: false }).addTo(map);
      // A white ring, wider than a contact's dot, so a contact recorded here shows inside
      // it (and unlike the hangplekken's blue rings).
      dot = L.circleMarker(here, { pane: "position", radius: 13, className: "map-position", color: "#fff", weight: 3, fillColor: "#1e88ff", fillOpacity: 0.6, interactive: false }).addTo(map);
    } else {
      accuracy.setLatLng(here).setRadius(p.coords.accuracy);
      dot.setLatLng(here);
    }
  }, () => { /* no position: the map works without it */ }, { enableHighAccuracy: true, maximumAge: 30000, timeout: 15000 });
}

dioxus.send({ kind: "ready" });
// Live as long as the page: the map sends through this eval's channel.
await new Promise(() => {});
