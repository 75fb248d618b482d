// The admin's rule pages (/beheer/gebiedsregels, /beheer/wijken): a Leaflet map that shows
// the wijken, existing area rules and hangplekken, and lets the admin draw a new area by
// clicking its corners (no draw plugin needed: one click adds a vertex). It also warns
// while typing when a rule's validity nears the three-month limit of art. 172b
// Gemeentewet, and reads a chosen GeoJSON file into the upload form. The server checks
// everything again; this script only helps.
(function () {
  'use strict';

  function json(id) {
    var el = document.getElementById(id);
    if (!el) { return []; }
    try { return JSON.parse(el.textContent || '[]'); } catch (e) { return []; }
  }

  // ---- dd-mm-jjjj and the three-month warning -------------------------------------------
  function parseDate(s) {
    var m = /^(\d{2})-(\d{2})-(\d{4})$/.exec((s || '').trim());
    if (!m) { return null; }
    var d = new Date(Date.UTC(+m[3], +m[2] - 1, +m[1]));
    return d.getUTCDate() === +m[1] && d.getUTCMonth() === +m[2] - 1 ? d : null;
  }
  function fmt(d) {
    var p = function (n) { return (n < 10 ? '0' : '') + n; };
    return p(d.getUTCDate()) + '-' + p(d.getUTCMonth() + 1) + '-' + d.getUTCFullYear();
  }
  function lastAllowed(from) {
    // Three calendar months later, minus one day (clamped like jiff: 30-11 + 3 months = 28-02).
    var y = from.getUTCFullYear(), m = from.getUTCMonth() + 3, day = from.getUTCDate();
    var last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    var d = new Date(Date.UTC(y, m, Math.min(day, last)));
    d.setUTCDate(d.getUTCDate() - 1);
    return d;
  }
  var van = document.getElementById('van');
  var tot = document.getElementById('tot');
  var warn = document.getElementById('drie-maanden');
  function checkWindow() {
    if (!van || !tot || !warn) { return; }
    var a = parseDate(van.value), b = parseDate(tot.value);
    if (!a || !b) { warn.hidden = true; return; }
    var limit = lastAllowed(a);
    var left = Math.round((limit - b) / 86400000);
    if (left < 0) {
      warn.hidden = false;
      warn.className = 'notice error';
      warn.textContent = 'Langer dan drie maanden is niet toegestaan (art. 172b Gemeentewet): uiterlijk ' + fmt(limit) + '.';
    } else if (left < 14) {
      warn.hidden = false;
      warn.className = 'notice info';
      warn.textContent = 'Let op: de geldigheid nadert de grens van drie maanden; uiterlijk ' + fmt(limit) + ' is toegestaan.';
    } else {
      warn.hidden = true;
    }
  }
  if (van && tot) {
    van.addEventListener('input', checkWindow);
    tot.addEventListener('input', checkWindow);
    checkWindow();
  }

  // ---- reading a chosen GeoJSON file into the form ---------------------------------------
  var file = document.getElementById('bestand');
  var area = document.getElementById('geojson');
  var fileName = document.getElementById('bestand-naam');
  if (file && area) {
    file.addEventListener('change', function () {
      var f = file.files && file.files[0];
      if (fileName) { fileName.textContent = f ? f.name : 'Geen bestand gekozen'; }
      if (!f) { return; }
      if (f.size > 2 * 1024 * 1024) {
        area.value = '';
        alert('Dit bestand is te groot om in te lezen (meer dan 2 MB). Exporteer alleen de wijken van uw gemeente, vereenvoudigd.');
        return;
      }
      var reader = new FileReader();
      reader.onload = function () { area.value = String(reader.result || ''); };
      reader.readAsText(f);
    });
  }

  // ---- the map ---------------------------------------------------------------------------
  var mapEl = document.getElementById('br-map');
  if (!mapEl) { return; }
  if (!window.L) {
    mapEl.textContent = 'De kaartbibliotheek kon niet laden.';
    return;
  }
  var drawing = mapEl.dataset.mode === 'draw';
  // Fractional zoom, so that the wijken fill the map; no zoom on a double click while
  // drawing (the two clicks are two corners).
  var map = L.map(mapEl, { minZoom: 8, maxZoom: 19, zoomSnap: 0.25, zoomControl: false, doubleClickZoom: !drawing });
  L.control.zoom({ zoomInTitle: 'Inzoomen', zoomOutTitle: 'Uitzoomen' }).addTo(map);
  // A view first: permanent labels need one when they are added; fitted below.
  map.setView([51.92, 4.48], 13);
  map.attributionControl.setPrefix(false);
  var basemap = mapEl.dataset.basemap;
  if (basemap) {
    var host = '';
    try { host = new URL(basemap.replace(/[{}]/g, ''), location.href).hostname; } catch (e) { host = ''; }
    L.tileLayer(basemap, {
      maxZoom: 19,
      attribution: /pdok\.nl$/.test(host) ? 'Achtergrond: BRT, &copy; Kadaster (PDOK)' : 'Achtergrond: ' + host
    }).addTo(map);
  }
  // Names go in as text, never as HTML.
  function text(s) {
    var span = document.createElement('span');
    span.textContent = s;
    return span;
  }
  // Layers from bottom to top: wijken and rules, the wijk names, the hangplekken, their
  // names. A wijk's name never hides a hangplek.
  map.createPane('br-labels').style.zIndex = 450;
  map.createPane('br-places').style.zIndex = 620;
  var namesPane = map.createPane('br-placenames');
  namesPane.style.zIndex = 630;
  namesPane.style.pointerEvents = 'none';
  var bounds = L.latLngBounds([]);
  var wijkBounds = [];
  json('br-wijken').forEach(function (w) {
    var layer = L.geoJSON(w.geometry, {
      style: { color: '#1d4f91', weight: 2, fillOpacity: 0.06 }
    }).addTo(map);
    layer.bindTooltip(text(w.name + ' (' + w.code + ')'), { permanent: true, direction: 'center', className: 'br-label', pane: 'br-labels' });
    bounds.extend(layer.getBounds());
    wijkBounds.push({ name: w.name, bounds: layer.getBounds() });
  });
  json('br-rules').forEach(function (r) {
    var layer = L.geoJSON(r.geometry, {
      style: { color: '#b45309', weight: 2, dashArray: '6 4', fillOpacity: 0.1 }
    }).addTo(map);
    layer.bindTooltip(text(r.name));
    bounds.extend(layer.getBounds());
  });
  // Each hangplek: a dot with its name on hover, and from street level (zoom 15) its name
  // beside it.
  var NAMES_FROM = 15;
  var places = json('br-places');
  places.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { pane: 'br-places', radius: 6, color: '#111', weight: 1, fillColor: '#facc15', fillOpacity: 1 })
      .bindTooltip(text(p.name), { direction: 'top', offset: [0, -6], className: 'br-place-tip' }).addTo(map);
    L.tooltip({ permanent: true, direction: 'right', offset: [7, 0], className: 'br-place', pane: 'br-placenames' })
      .setLatLng([p.lat, p.lon]).setContent(text(p.name)).addTo(map);
    bounds.extend([p.lat, p.lon]);
  });
  var showNames = function () {
    namesPane.style.display = map.getZoom() >= NAMES_FROM ? '' : 'none';
  };
  map.on('zoomend', showNames);
  showNames();

  var field = document.getElementById('gebied');
  if (mapEl.dataset.mode === 'draw' && field) {
    var points = [];
    try {
      points = JSON.parse(field.value || '[]').map(function (p) { return [p[1], p[0]]; });
    } catch (e) { points = []; }
    var shape = L.polygon([], { color: '#c81e1e', weight: 3, fillOpacity: 0.2 }).addTo(map);
    var dots = L.layerGroup().addTo(map);
    var count = document.getElementById('br-count');
    var store = function () {
      field.value = JSON.stringify(points.map(function (p) {
        return [Math.round(p[1] * 1e6) / 1e6, Math.round(p[0] * 1e6) / 1e6];
      }));
    };
    // Each corner is a handle: drag it to correct an area drawn slightly wrong (also a
    // saved rule opened with "Wijzigen") without drawing it all again.
    var handle = L.divIcon({ className: 'br-vertex', iconSize: [16, 16] });
    var redraw = function () {
      shape.setLatLngs(points);
      dots.clearLayers();
      points.forEach(function (p, i) {
        var corner = L.marker(p, { icon: handle, draggable: true, keyboard: false, title: 'Hoekpunt ' + (i + 1) + ': sleep om te verplaatsen' });
        corner.on('drag', function (e) {
          points[i] = [e.latlng.lat, e.latlng.lng];
          shape.setLatLngs(points);
          store();
        });
        corner.on('dragend', redraw);
        corner.addTo(dots);
      });
      store();
      if (count) {
        count.textContent = points.length ? points.length + (points.length === 1 ? ' punt' : ' punten') : '';
      }
    };
    map.on('click', function (e) {
      points.push([e.latlng.lat, e.latlng.lng]);
      redraw();
    });
    var undo = document.getElementById('br-undo');
    var clear = document.getElementById('br-clear');
    if (undo) { undo.addEventListener('click', function () { points.pop(); redraw(); }); }
    if (clear) { clear.addEventListener('click', function () { points = []; redraw(); }); }
    redraw();
    // Asking which hangplekken lie in the area, or saving it, needs an area: say so here,
    // beside the buttons, instead of sending the form.
    var ruleForm = document.getElementById('regel');
    var need = document.getElementById('br-need-area');
    if (ruleForm && need) {
      ruleForm.addEventListener('submit', function (e) {
        if (points.length >= 3) { need.hidden = true; return; }
        e.preventDefault();
        need.hidden = false;
        need.textContent = points.length ?
          'Teken eerst een gebied: nog ' + (3 - points.length) + (points.length === 2 ? ' hoekpunt' : ' hoekpunten') +
          ' op de kaart aanklikken (minstens drie).' :
          'Teken eerst een gebied: klik op de kaart minstens drie hoekpunten aan.';
        mapEl.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      });
      map.on('click', function () { if (points.length >= 3) { need.hidden = true; } });
    }
    if (points.length >= 3) {
      // Coming back with a drawn area (a preview or an error): show that area.
      bounds = L.latLngBounds(points).pad(0.5);
    }
  }

  // Open on the wijken, as large as the map allows; a button per wijk zooms in on it, and
  // a list of the hangplekken goes to street level around one (to draw an area there).
  var home = wijkBounds.length ? wijkBounds.reduce(function (b, w) { return b.extend(w.bounds); }, L.latLngBounds([])) : bounds;
  if (drawing && points && points.length >= 3) { home = bounds; }
  if (home.isValid()) {
    map.fitBounds(home, { padding: [12, 12], maxZoom: 17, animate: false });
  }
  var zoomTo = document.getElementById('br-zoom');
  if (zoomTo && (wijkBounds.length > 1 || places.length)) {
    var add = function (label, b, title) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = label;
      button.title = title;
      button.addEventListener('click', function () { map.fitBounds(b, { padding: [12, 12], maxZoom: 17 }); });
      zoomTo.appendChild(button);
      zoomTo.appendChild(document.createTextNode(' '));
    };
    if (wijkBounds.length > 1) {
      zoomTo.appendChild(document.createTextNode('Inzoomen op: '));
      wijkBounds.forEach(function (w) { add(w.name, w.bounds, 'Toon heel ' + w.name); });
      add('alle wijken', home, 'Toon alle wijken');
    }
    if (places.length) {
      var pick = document.createElement('select');
      pick.id = 'br-goto';
      pick.setAttribute('aria-label', 'Naar een hangplek (straatniveau)');
      pick.appendChild(new Option('Naar hangplek…', ''));
      places.slice().sort(function (a, b) { return a.name.localeCompare(b.name, 'nl'); }).forEach(function (p) {
        pick.appendChild(new Option(p.name, p.lat + ',' + p.lon));
      });
      pick.addEventListener('change', function () {
        if (!pick.value) { return; }
        var ll = pick.value.split(',').map(Number);
        map.setView(ll, 17);
      });
      zoomTo.appendChild(pick);
    }
    zoomTo.hidden = false;
  }
  window.avondrondeBeheerKaart = map;
})();
