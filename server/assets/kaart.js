// The coordinator's hotspot map (/kaart). Reads the filter form, asks /api/v1/hotspot for
// the cells, totals, histogram and trend, and draws them: hexagons in Leaflet, the legend,
// the totals and two small SVG charts. Every count comes from the API already suppressed
// ("<10" or rounded to 5); this script never adds or subtracts counts.
(function () {
  'use strict';

  var CLASSES = [
    [3, '#d62f27', 'Hotspot, 99% betrouwbaar'],
    [2, '#ed7551', 'Hotspot, 95% betrouwbaar'],
    [1, '#fab984', 'Hotspot, 90% betrouwbaar'],
    [0, '#f4f4f0', 'Niet significant'],
    [-1, '#c0ccbe', 'Coldspot, 90% betrouwbaar'],
    [-2, '#849eba', 'Coldspot, 95% betrouwbaar'],
    [-3, '#4575b5', 'Coldspot, 99% betrouwbaar']
  ];
  // Change categories of a cell, from the shown counts only (see changeClass).
  var CHANGES = [
    ['up2', '#d62f27', 'Veel hoger (+50% of meer)'],
    ['up1', '#fab984', 'Hoger (+10 tot +50%)'],
    ['same', '#d4d4d4', 'Gelijk (minder dan 10%)'],
    ['down1', '#9fb9d8', 'Lager (−10 tot −50%)'],
    ['down2', '#2f6db3', 'Veel lager (−50% of meer)'],
    ['few', '#ffffff', 'Te weinig om te zeggen']
  ];
  var NOUN = { children: 'kinderen', contacts: 'contacten' };

  var form = document.getElementById('hs-filters');
  var mapEl = document.getElementById('hs-map');
  var statusEl = document.getElementById('hs-status');
  var noticeEl = document.getElementById('hs-basemap-notice');
  var legendEl = document.getElementById('hs-legend');
  // The legend can be folded away (it lies over the map); it stays as it is set while the
  // page is open, through every redraw.
  var legendBody = document.createElement('div');
  legendBody.id = 'hs-legend-body';
  var legendToggle = document.createElement('button');
  legendToggle.type = 'button';
  legendToggle.className = 'hs-legend-toggle';
  legendToggle.setAttribute('aria-controls', 'hs-legend-body');
  // Under the legend, so that it stays where it was clicked when the legend folds.
  legendEl.appendChild(legendBody);
  legendEl.appendChild(legendToggle);
  function foldLegend(folded) {
    legendBody.hidden = folded;
    legendEl.classList.toggle('hs-folded', folded);
    legendToggle.setAttribute('aria-expanded', folded ? 'false' : 'true');
    legendToggle.textContent = folded ? 'Legenda tonen' : 'Legenda verbergen';
  }
  // On a phone the open legend would cover a third of the map: there it starts folded.
  foldLegend(!!mapEl && mapEl.clientWidth < 480);
  var toggleEl = document.getElementById('hs-viewtoggle');
  var wijken = JSON.parse(document.getElementById('hs-wijken').textContent || '[]');
  var header = document.querySelector('header.top');
  if (header) {
    document.documentElement.style.setProperty('--hs-top', header.offsetHeight + 'px');
  }
  if (!window.L || !mapEl) {
    statusEl.textContent = 'De kaartbibliotheek kon niet laden.';
    statusEl.className = 'hs-status error';
    return;
  }

  // ---- the map -------------------------------------------------------------------------
  var map = L.map(mapEl, { zoomSnap: 0.25, minZoom: 9, maxZoom: 19, zoomControl: false });
  L.control.zoom({ zoomInTitle: 'Inzoomen', zoomOutTitle: 'Uitzoomen' }).addTo(map);
  map.attributionControl.setPrefix(false);
  map.on('moveend', function () { namesInside(); }); // after every zoom, too
  map.createPane('hs-outline').style.zIndex = 450;
  map.createPane('hs-places').style.zIndex = 460;
  map.getPane('hs-outline').style.pointerEvents = 'none';

  // A cell's tooltip follows the pointer and stays whole inside the map: right of the
  // pointer (left of it in the right half), moved up or down where it would run over the
  // top or bottom edge, and above or below the pointer where neither side has room. It
  // never lies over the pointer itself, so the cell under it stays visible. Its pane lies
  // in the map's box itself, not in the panning map pane, so that it is drawn over what
  // lies over the map (the legend, the notice, the view buttons); positions are therefore
  // in the box's own pixels.
  map.createPane('hs-tips', mapEl).style.zIndex = 900;
  var FitTip = L.Tooltip.extend({
    options: { pane: 'hs-tips' },
    // The tooltip follows the pointer, not the zoom animation.
    _animateZoom: function () {},
    _setPosition: function (pos) {
      var map = this._map;
      var el = this._container;
      var size = map.getSize();
      var w = el.offsetWidth, h = el.offsetHeight;
      var c = map.layerPointToContainerPoint(pos);
      var gap = 18, m = 6;
      var clamp = function (v, lo, hi) { return Math.max(lo, Math.min(v, hi)); };
      var right = c.x + gap + w <= size.x - m;
      var left = c.x - gap - w >= m;
      var x, y, side;
      if (right && (c.x < size.x / 2 || !left)) {
        side = 'right'; x = c.x + gap;
      } else if (left) {
        side = 'left'; x = c.x - gap - w;
      }
      if (side) {
        y = clamp(c.y - h / 2, m, size.y - h - m);
      } else {
        side = c.y + gap + h <= size.y - m || c.y < size.y / 2 ? 'bottom' : 'top';
        x = clamp(c.x - w / 2, m, size.x - w - m);
        y = side === 'bottom' ? c.y + gap : c.y - gap - h;
        y = clamp(y, m, size.y - h - m);
      }
      ['right', 'left', 'top', 'bottom'].forEach(function (d) { L.DomUtil.removeClass(el, 'leaflet-tooltip-' + d); });
      L.DomUtil.addClass(el, 'leaflet-tooltip-' + side);
      L.DomUtil.setPosition(el, L.point(Math.round(x), Math.round(y)));
    }
  });
  // Binds such a tooltip (its content a function of the layer) to a cell; trends.js uses
  // it too.
  function bindTip(layer, content) {
    layer.bindTooltip(new FitTip({ sticky: true, className: 'hs-tip' }, layer).setContent(content));
  }

  // For the trends layer (trends.js): the map, the tooltip, and each refresh's wijk and
  // API query.
  window.avondrondeKaart = { map: map, last: null, bindTip: bindTip };

  var basemap = mapEl.dataset.basemap;
  if (basemap) {
    var host = '';
    try { host = new URL(basemap.replace(/[{}]/g, ''), location.href).hostname; } catch (e) { host = ''; }
    var attribution = /pdok\.nl$/.test(host) ? 'Achtergrond: BRT, &copy; Kadaster (PDOK)' : 'Achtergrond: ' + host;
    var tiles = L.tileLayer(basemap, { maxZoom: 19, attribution: attribution });
    var loaded = 0;
    var showNotice = function () {
      if (loaded === 0) {
        noticeEl.hidden = false;
        mapEl.classList.add('hs-nobase');
        namesInside();
      }
    };
    tiles.on('tileload', function () {
      loaded += 1;
      if (!noticeEl.hidden) { noticeEl.hidden = true; namesInside(); }
      mapEl.classList.remove('hs-nobase');
    });
    tiles.on('tileerror', showNotice);
    // A basemap that never answers is as unreachable as one that refuses.
    setTimeout(showNotice, 8000);
    tiles.addTo(map);
  }

  var outlineLayer = null;
  var placesLayer = null;
  var cellsLayer = null;
  var cells = null;
  var shownWijk = null;
  var view = form.elements.view.value || 'after';
  var requestSeq = 0;

  // ---- form state ----------------------------------------------------------------------
  function checked(name) {
    return Array.prototype.filter
      .call(form.querySelectorAll('input[name="' + name + '"]'), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
  }

  // Every chip group reads the same way: the "alle" chip is filled when the group does not
  // narrow the map; otherwise the filled chips are the ones shown. Picking a chip turns
  // "alle" off, "alle" clears the picks, and no pick left means "alle" again. Where every
  // chip picked is the same as no filter (avonden, leeftijd) that, too, becomes "alle";
  // for gedrag it does not (contacts without any behaviour noted would drop out), so
  // there the API keeps its "een van" list.
  function syncChips(input) {
    var box = input.closest('.hs-chips');
    var all = box && box.querySelector('input.hs-all');
    if (!all) return;
    var items = Array.prototype.slice.call(box.querySelectorAll('input:not(.hs-all)'));
    var clear = function () { items.forEach(function (i) { i.checked = false; }); all.checked = true; };
    if (input === all) { clear(); return; }
    var n = items.filter(function (i) { return i.checked; }).length;
    if (n === 0 || (box.dataset.full === 'all' && n === items.length)) clear();
    else all.checked = false;
  }

  function allOrList(name) {
    var all = form.querySelectorAll('input[name="' + name + '"]').length;
    var list = checked(name);
    return list.length === all ? '' : list.join(',');
  }

  function addDays(iso, days) {
    var d = new Date(iso + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  // Dates are typed as dd-mm-jjjj in text fields (a native date input shows the
  // browser's locale); the API gets ISO dates. The server reads dates the same way
  // (server/src/dates.rs) and words its error the same.
  function isoDate(text) {
    var m = /^\s*(\d{1,2})-(\d{1,2})-(\d{4})\s*$/.exec(text || '');
    if (!m) return null;
    var d = +m[1], mo = +m[2], y = +m[3];
    var dt = new Date(Date.UTC(y, mo - 1, d));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
    return dt.toISOString().slice(0, 10);
  }

  function readDate(input, bad) {
    var v = input.value.trim();
    var iso = v === '' ? '' : isoDate(v);
    if (iso === null) {
      input.setAttribute('aria-invalid', 'true');
      bad.push('"' + v.slice(0, 20) + '" is geen datum; typ de datum als dd-mm-jjjj, bijvoorbeeld 22-11-2026');
      return '';
    }
    input.removeAttribute('aria-invalid');
    return iso;
  }

  function state() {
    var el = form.elements;
    var bad = [];
    var s = {
      wijk: el.wijk.value,
      res: el.res.value,
      measure: el.measure.value,
      from: readDate(el.from, bad),
      to: readDate(el.to, bad),
      compare: el.compare.checked,
      intervention: readDate(el.intervention, bad),
      weeks: el.weeks.value,
      hour_from: el.hour_from.value,
      hour_to: el.hour_to.value,
      weekdays: allOrList('weekdays'),
      bands: allOrList('bands'),
      behaviours: checked('behaviours').join(','),
      past_norm: el.past_norm.checked,
      brought_home: el.brought_home.checked,
      bad: bad
    };
    if (s.compare && s.intervention) {
      var w = Math.max(1, Math.min(26, parseInt(s.weeks, 10) || 4));
      s.before_from = addDays(s.intervention, -7 * w);
      s.before_to = addDays(s.intervention, -1);
      s.after_from = s.intervention;
      s.after_to = addDays(s.intervention, 7 * w - 1);
    }
    return s;
  }

  function apiQuery(s) {
    var q = new URLSearchParams();
    q.set('res', s.res);
    q.set('measure', s.measure);
    if (s.before_from) {
      q.set('from', s.after_from);
      q.set('to', s.after_to);
      q.set('before_from', s.before_from);
      q.set('before_to', s.before_to);
    } else {
      if (s.from) q.set('from', s.from);
      if (s.to) q.set('to', s.to);
    }
    if (s.hour_from !== '') {
      var to = s.hour_to === '' ? (parseInt(s.hour_from, 10) + 1) % 24 : s.hour_to;
      if (String(to) !== s.hour_from) q.set('hours', s.hour_from + '-' + to);
    }
    ['weekdays', 'bands', 'behaviours'].forEach(function (k) { if (s[k]) q.set(k, s[k]); });
    if (s.past_norm) q.set('past_norm', 'true');
    if (s.brought_home) q.set('brought_home', 'true');
    return q.toString();
  }

  function pageQuery(s) {
    var q = new URLSearchParams();
    ['wijk', 'res', 'measure', 'from', 'to', 'intervention', 'weeks', 'hour_from', 'hour_to',
      'weekdays', 'bands', 'behaviours'].forEach(function (k) { if (s[k]) q.set(k, s[k]); });
    ['compare', 'past_norm', 'brought_home'].forEach(function (k) { if (s[k]) q.set(k, '1'); });
    if (s.compare) q.set('view', view);
    return q.toString();
  }

  // ---- formatting ----------------------------------------------------------------------
  function num(shown) {
    return /^\d+$/.test(shown) ? Number(shown).toLocaleString('nl-NL') : shown;
  }
  function dec(x, digits) {
    return x.toLocaleString('nl-NL', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function nlDate(iso) {
    return iso ? iso.split('-').reverse().join('-') : '…';
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }
  function classOf(bin) {
    for (var i = 0; i < CLASSES.length; i++) if (CLASSES[i][0] === bin) return CLASSES[i];
    return CLASSES[3];
  }
  function changeOf(key) {
    for (var i = 0; i < CHANGES.length; i++) if (CHANGES[i][0] === key) return CHANGES[i];
    return CHANGES[CHANGES.length - 1];
  }
  // Colours only what the shown counts can carry: a percentage when both are at least 10,
  // and a certain direction of at least 50% when one side shows 20 or more.
  function changeClass(p) {
    if (p.count === '0' && p.before_count === '0') return 'none';
    var pct = p.change_percent;
    if (pct !== undefined && pct !== null) {
      if (pct >= 50) return 'up2';
      if (pct >= 10) return 'up1';
      if (pct <= -50) return 'down2';
      if (pct <= -10) return 'down1';
      return 'same';
    }
    if (Math.max(height(p.count), height(p.before_count)) >= 20) {
      if (p.change === 'up') return 'up2';
      if (p.change === 'down') return 'down2';
    }
    return 'few';
  }
  function changeText(c) {
    if (!c) return '';
    var words = { up: 'hoger', down: 'lager', same: 'gelijk', unknown: 'te weinig om te zeggen' };
    var t = words[c.direction] || '';
    if (c.percent !== null && c.percent !== undefined) t += ' (' + (c.percent > 0 ? '+' : c.percent < 0 ? '−' : '') + Math.abs(c.percent) + '%)';
    return t;
  }

  // ---- drawing the map -----------------------------------------------------------------
  function wijkById(id) {
    for (var i = 0; i < wijken.length; i++) if (wijken[i].id === id) return wijken[i];
    return wijken[0];
  }

  function showWijk(w) {
    if (outlineLayer) map.removeLayer(outlineLayer);
    if (placesLayer) map.removeLayer(placesLayer);
    outlineLayer = L.geoJSON(w.geometry, {
      pane: 'hs-outline', interactive: false,
      style: { color: '#1b1f24', weight: 3, opacity: 0.9, fill: false }
    }).addTo(map);
    placesLayer = L.layerGroup(w.places.map(function (p) {
      return L.circleMarker([p.lat, p.lon], {
        pane: 'hs-places', radius: 3.5, weight: 1.5, color: '#fff', fillColor: '#1b1f24', fillOpacity: 1, interactive: false
      }).bindTooltip(esc(p.name), { permanent: true, direction: 'right', className: 'hs-place', offset: [3, 0] });
    })).addTo(map);
    map.fitBounds([[w.bbox[1], w.bbox[0]], [w.bbox[3], w.bbox[2]]], { padding: [12, 12] });
    namesInside();
    shownWijk = w.id;
  }

  // A place's name stands right of it, as on a map; where that would run off the map or
  // over a name already placed, it stands left of, above or below it instead (the first
  // that fits). A name that fits nowhere (a small screen, places close together) is left
  // out until a zoom makes room: the dot stays, and no name is drawn over another, nor
  // under what lies over the map (the legend, the notice, the buttons).
  var SIDES = [['right', [3, 0]], ['left', [-3, 0]], ['top', [0, -3]], ['bottom', [0, 3]]];
  function namesInside() {
    if (!placesLayer) return;
    var box = map.getContainer().getBoundingClientRect();
    var over = mapEl.parentNode.querySelectorAll('.hs-mapwrap > :not(#hs-map), .leaflet-control');
    var placed = Array.prototype.map.call(over, function (e) { return e.getBoundingClientRect(); })
      .filter(function (r) { return r.width > 0 && r.height > 0; });
    var fits = function (r) {
      return r.left >= box.left + 4 && r.right <= box.right - 4 && r.top >= box.top && r.bottom <= box.bottom &&
        placed.every(function (o) { return r.right < o.left || r.left > o.right || r.bottom < o.top || r.top > o.bottom; });
    };
    placesLayer.eachLayer(function (marker) {
      var tip = marker.getTooltip();
      var el = tip && tip.getElement();
      if (!el) return;
      el.hidden = false;
      // Tries each side in turn; the first that fits is where the name stays.
      var side = SIDES.find(function (s) {
        tip.options.direction = s[0];
        tip.options.offset = s[1];
        tip.update();
        return fits(el.getBoundingClientRect());
      });
      el.hidden = !side;
      if (side) placed.push(el.getBoundingClientRect());
    });
  }

  function cellStyle(f) {
    var p = f.properties;
    if (view === 'change' && cells && cells.compare) {
      var k = changeClass(p);
      var faint = k === 'none' || k === 'few';
      return {
        className: 'hs-cell', fillColor: changeOf(k)[1], fillOpacity: k === 'none' ? 0.15 : faint ? 0.5 : 0.85,
        color: faint ? '#a7afb8' : '#59616b', weight: faint ? 0.4 : 0.8, opacity: 0.9
      };
    }
    var bin = view === 'before' && cells && cells.compare ? p.before_gi_bin : p.gi_bin;
    return {
      className: 'hs-cell', fillColor: classOf(bin)[1], fillOpacity: bin === 0 ? 0.35 : 0.82,
      color: bin === 0 ? '#a7afb8' : '#59616b', weight: bin === 0 ? 0.4 : 0.8, opacity: 0.9
    };
  }

  // The class of a cell in words a wijkregisseur reads without statistics.
  function plain(bin, noun) {
    var words = { 3: 'Duidelijk meer', 2: 'Meer', 1: 'Iets meer', '-1': 'Iets minder', '-2': 'Minder', '-3': 'Duidelijk minder' };
    return words[bin] ? words[bin] + ' ' + noun + ' dan in de omgeving' : 'Niet duidelijk anders dan de omgeving';
  }

  function tooltip(p) {
    var noun = NOUN[cells.measure] || '';
    var cap = noun.charAt(0).toUpperCase() + noun.slice(1);
    if (!cells.compare) {
      // Plain words first; the class, z and q (one decimal, as the API gives them) after.
      return '<strong>' + esc(plain(p.gi_bin, noun)) + '</strong><br>' + cap + ': ' + esc(num(p.count)) +
        '<br><small class="hs-tip-detail">' + esc(p.label) + ' · z = ' + dec(p.z, 0) + ' · q = ' + dec(p.q, 1) + '</small>';
    }
    // The same plain words as the single view, before and after; the classes after them.
    var words = function (bin) { var w = plain(bin, noun); return w.charAt(0).toLowerCase() + w.slice(1); };
    return '<strong>Voor:</strong> ' + esc(num(p.before_count)) + ' ' + noun + ', ' + esc(words(p.before_gi_bin)) +
      '<br><strong>Na:</strong> ' + esc(num(p.count)) + ' ' + noun + ', ' + esc(words(p.gi_bin)) +
      '<br>Verandering: ' + esc(changeText({ direction: p.change, percent: p.change_percent })) +
      '<br><small class="hs-tip-detail">' + esc(classOf(p.before_gi_bin)[2]) + ' → ' + esc(classOf(p.gi_bin)[2]) + '</small>';
  }

  function drawCells() {
    if (cellsLayer) map.removeLayer(cellsLayer);
    if (!cells) return;
    cellsLayer = L.geoJSON(cells, {
      style: cellStyle,
      onEachFeature: function (f, layer) {
        bindTip(layer, function () { return tooltip(f.properties); });
      }
    }).addTo(map);
    var hot = 0;
    cells.features.forEach(function (f) { if (f.properties.gi_bin > 0) hot += 1; });
    mapEl.dataset.cells = String(cells.features.length);
    mapEl.dataset.hot = String(hot);
    drawLegend();
  }

  function swatch(colour) {
    return '<i style="background:' + colour + '"></i>';
  }
  function drawLegend() {
    var html;
    if (view === 'change' && cells && cells.compare) {
      html = '<strong>Verandering ' + esc(NOUN[cells.measure] || '') + ', na t.o.v. voor</strong>' +
        CHANGES.map(function (c) { return '<div>' + swatch(c[1]) + c[2] + '</div>'; }).join('');
    } else {
      var title = cells && cells.compare ? (view === 'before' ? 'Hotspots vóór' : 'Hotspots na') : 'Hotspots (Gi*)';
      var row = function (name, bins) {
        return '<span>' + name + '</span>' + bins.map(function (b) { return swatch(classOf(b)[1]); }).join('');
      };
      html = '<strong>' + title + '</strong><div class="hs-scale">' +
        row('Hotspot', [3, 2, 1]) + row('Coldspot', [-3, -2, -1]) +
        '<span></span><small>99%</small><small>95%</small><small>90%</small></div>' +
        '<div>' + swatch(classOf(0)[1]) + 'Niet significant</div>';
    }
    html += '<div><i class="hs-line"></i>Wijkgrens <i class="hs-dot"></i>Plek</div>';
    legendBody.innerHTML = html;
    namesInside();
  }

  // ---- charts (inline SVG) -------------------------------------------------------------
  function height(shown) {
    if (shown === '<10') return 5;
    var n = Number(shown);
    return isFinite(n) ? n : 0;
  }

  // bars: [{label, shown, fill, title, tick}], optional ghost series `before` of shown values.
  function barChart(el, bars, opts) {
    var W = 280, H = 118, top = 14, bottom = 18, left = 4, right = 4;
    var max = 0;
    bars.forEach(function (b) {
      max = Math.max(max, height(b.shown), b.before !== undefined ? height(b.before) : 0);
    });
    max = max || 10;
    var bw = (W - left - right) / Math.max(1, bars.length);
    var scale = function (v) { return (H - top - bottom) * v / max; };
    var svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="' + esc(opts.label) + '">' +
      '<defs><pattern id="hs-hatch-' + opts.id + '" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="4" height="4" fill="#fff"/><rect width="2" height="4" fill="#8d99a8"/></pattern></defs>' +
      '<line x1="' + left + '" x2="' + (W - right) + '" y1="' + (H - bottom) + '" y2="' + (H - bottom) + '" stroke="#b9c2cc"/>' +
      '<line x1="' + left + '" x2="' + (W - right) + '" y1="' + top + '" y2="' + top + '" stroke="#e3e7ec" stroke-dasharray="3 3"/>' +
      '<text x="' + left + '" y="' + (top - 4) + '">' + esc(num(String(max))) + ' ' + esc(opts.noun) + '</text>';
    bars.forEach(function (b, i) {
      var x = left + i * bw;
      var ghost = b.before !== undefined;
      var w = ghost ? bw / 2 - 0.5 : bw - 1.5;
      if (ghost) {
        var hb = scale(height(b.before));
        svg += '<rect x="' + (x + 0.5).toFixed(1) + '" y="' + (H - bottom - hb).toFixed(1) + '" width="' + w.toFixed(1) +
          '" height="' + hb.toFixed(1) + '" fill="' + (b.before === '<10' ? 'url(#hs-hatch-' + opts.id + ')' : '#9fb0c4') + '"><title>' +
          esc('voor: ' + b.title + ': ' + num(b.before)) + '</title></rect>';
      }
      var h = scale(height(b.shown));
      var bx = ghost ? x + bw / 2 : x + 0.75;
      svg += '<rect x="' + bx.toFixed(1) + '" y="' + (H - bottom - h).toFixed(1) + '" width="' + w.toFixed(1) + '" height="' + h.toFixed(1) +
        '" fill="' + (b.shown === '<10' ? 'url(#hs-hatch-' + opts.id + ')' : b.fill) + '"' +
        (b.shown === '<10' ? ' stroke="' + b.fill + '" stroke-width="0.8"' : '') + '><title>' +
        esc(b.title + ': ' + num(b.shown) + ' ' + opts.noun) + '</title></rect>';
      if (b.tick) {
        svg += '<text x="' + (x + bw / 2).toFixed(1) + '" y="' + (H - 5) + '" text-anchor="middle">' + esc(b.tick) + '</text>';
      }
    });
    svg += '</svg>';
    el.innerHTML = svg + (opts.key || '');
  }

  function drawHistogram(h) {
    var noun = NOUN[h.measure] || '';
    var ghost = h.hours.some(function (b) { return b.before !== undefined; });
    barChart(document.getElementById('hs-hist'), h.hours.map(function (b) {
      return {
        shown: b.count, before: ghost ? b.before : undefined, title: b.label,
        fill: b.selected ? '#1d3f72' : '#b8c3d1', tick: b.hour % 3 === 0 ? String(b.hour) : ''
      };
    }), {
      id: 'hist', noun: noun, label: 'Aantal ' + noun + ' per uur van de avond',
      key: '<p class="hs-key">' + (ghost ? '<i style="background:#9fb0c4"></i>voor <i style="background:#1d3f72"></i>na' :
        '<i style="background:#1d3f72"></i>gekozen uren <i style="background:#b8c3d1"></i>overige') +
        ' <i style="background:repeating-linear-gradient(45deg,#8d99a8 0 2px,#fff 2px 4px)"></i>&lt;10</p>'
    });
  }

  function drawTrend(t) {
    var noun = NOUN[t.measure] || '';
    var colours = { before: '#849eba', period: '#e8a317', outside: '#cfd6df' };
    var every = Math.ceil(t.weeks.length / 9);
    barChart(document.getElementById('hs-trend'), t.weeks.map(function (w, i) {
      return {
        shown: w.count, title: 'week ' + w.week + ' (vanaf ' + nlDate(w.week_start) + ')',
        fill: colours[w.period], tick: i % every === 0 ? String(w.week) : ''
      };
    }), {
      id: 'trend', noun: noun, label: 'Aantal ' + noun + ' per week',
      key: '<p class="hs-key">weeknummers' + (t.weeks.some(function (w) { return w.period === 'before'; }) ?
        ' <i style="background:#849eba"></i>voor <i style="background:#e8a317"></i>na' : '') + '</p>'
    });
  }

  function drawTotals(s) {
    var noun = NOUN[s.measure];
    var el = document.getElementById('hs-totals');
    var html = '<p class="hs-title">' + esc(s.wijk.name) + ' <small>' + esc(s.wijk.code) + ' · ';
    if (s.before) {
      html += 'voor ' + nlDate(s.before.period.from) + ' t/m ' + nlDate(s.before.period.to) +
        ', na ' + nlDate(s.after.period.from) + ' t/m ' + nlDate(s.after.period.to) + '</small></p>';
      var row = function (label, key) {
        var c = s.change[key];
        var cls = c.direction === 'up' ? 'hs-up' : c.direction === 'down' ? 'hs-down' : '';
        return '<tr><td>' + label + '</td><td>' + esc(num(s.before.totals[key])) + '</td><td>' + esc(num(s.after.totals[key])) +
          '</td><td class="' + cls + '">' + esc(changeText(c)) + '</td></tr>';
      };
      html += '<table class="hs-compare"><thead><tr><th></th><th>voor</th><th>na</th><th>verschil</th></tr></thead><tbody>' +
        row('Contacten', 'contacts') + row('Kinderen', 'children') + '</tbody></table>' +
        '<p class="hs-classes">Hotspotcellen: ' + s.before.classes.hot + ' voor, ' + s.after.classes.hot + ' na.</p>';
    } else {
      html += nlDate(s.after.period.from) + ' t/m ' + nlDate(s.after.period.to) + '</small></p>' +
        '<dl class="hs-totals"><dt>Contacten</dt><dd>' + esc(num(s.after.totals.contacts)) + '</dd>' +
        '<dt>Kinderen</dt><dd>' + esc(num(s.after.totals.children)) + '</dd>' +
        '<dt>Na de buitenspeelnorm (contacten)</dt><dd>' + esc(num(s.after.totals.past_norm)) + '</dd>' +
        '<dt>Thuisgebracht (kinderen, alle leeftijden in deze contacten)</dt><dd>' + esc(num(s.after.totals.brought_home)) + '</dd></dl>' +
        '<p class="hs-classes">' + s.after.classes.hot + ' hotspotcellen' +
        (s.after.classes.hot ? ' (' + s.after.classes.hot_99 + ' met 99%)' : '') + ', ' + s.after.classes.cold +
        ' coldspotcellen van ' + s.after.classes.cells + '. De kaart telt ' + esc(noun) + '.</p>';
    }
    el.innerHTML = html;
  }

  // ---- loading -------------------------------------------------------------------------
  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (r) {
      if (r.status === 401) { location.href = '/login'; throw new Error('niet ingelogd'); }
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body && body.message ? body.message : 'fout ' + r.status);
        return body;
      });
    });
  }

  function setStatus(text, error) {
    statusEl.textContent = text;
    statusEl.className = 'hs-status' + (error ? ' error' : '');
  }

  function refresh() {
    if (!wijken.length) { setStatus(''); return; }
    var s = state();
    var w = wijkById(s.wijk);
    if (shownWijk !== w.id) showWijk(w);
    toggleEl.hidden = !s.compare;
    form.elements.hour_to.disabled = s.hour_from === '';
    document.getElementById('hs-period').disabled = s.compare;
    if (s.bad.length) { setStatus(s.bad[0], true); return; }
    var q = apiQuery(s);
    var base = '/api/v1/hotspot/wijken/' + encodeURIComponent(w.id);
    document.getElementById('hs-csv').href = base + '/export.csv?' + q;
    document.getElementById('hs-geojson').href = base + '/export.geojson?' + q;
    history.replaceState(null, '', '/kaart?' + pageQuery(s));
    var mine = ++requestSeq;
    setStatus('Bezig met berekenen…');
    mapEl.setAttribute('aria-busy', 'true');
    Promise.all([
      getJson(base + '/cells?' + q),
      getJson(base + '/summary?' + q),
      getJson(base + '/histogram?' + q),
      getJson(base + '/trend?' + q)
    ]).then(function (r) {
      if (mine !== requestSeq) return;
      cells = r[0];
      if (!cells.compare && view !== 'after') view = 'after';
      drawCells();
      drawTotals(r[1]);
      drawHistogram(r[2]);
      drawTrend(r[3]);
      setStatus('');
      mapEl.dataset.query = q;
      mapEl.removeAttribute('aria-busy');
      window.avondrondeKaart.last = { wijk: w.id, query: q };
      document.dispatchEvent(new CustomEvent('hs:refreshed', { detail: window.avondrondeKaart.last }));
    }).catch(function (e) {
      if (mine !== requestSeq) return;
      setStatus(e.message, true);
      mapEl.removeAttribute('aria-busy');
    });
  }

  var timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  }

  form.addEventListener('change', function (e) {
    if (e.target.closest && e.target.closest('.hs-chips')) syncChips(e.target);
    schedule();
  });
  form.addEventListener('submit', function (e) { e.preventDefault(); schedule(); });

  function pressView(v) {
    view = v;
    form.elements.view.value = v;
    Array.prototype.forEach.call(toggleEl.querySelectorAll('button'), function (b) {
      b.setAttribute('aria-pressed', b.dataset.view === v ? 'true' : 'false');
    });
    if (cellsLayer) cellsLayer.setStyle(cellStyle);
    drawLegend();
    history.replaceState(null, '', '/kaart?' + pageQuery(state()));
  }
  toggleEl.addEventListener('click', function (e) {
    var b = e.target.closest('button[data-view]');
    if (b) pressView(b.dataset.view);
  });

  legendToggle.addEventListener('click', function () {
    foldLegend(!legendBody.hidden);
    namesInside();
  });

  drawLegend();
  refresh();
})();
