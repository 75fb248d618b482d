// Emerging hot spots on /kaart (issue 15): a map layer with each cell's trend class
// ("nieuw", "toenemend", "hardnekkig", "afnemend", "wisselend", …), a Dutch legend, and per
// cell its series as a small chart. It asks /api/v1/hotspot/wijken/{wijk}/trends with the
// same filters as the map (kaart.js announces them in an `hs:refreshed` event) and shows
// only what the API sends: classes, one-decimal z-scores and counts as the map shows them.
// A static file, not inline, so that the page's Content-Security-Policy can forbid inline
// script.
(function () {
  'use strict';

  // Colours per class: warm for hot spots, cool for quiet places; darker = more lasting.
  var COLOURS = {
    new_hotspot: '#f9d057', consecutive_hotspot: '#f29e2e', intensifying_hotspot: '#d7191c',
    persistent_hotspot: '#7f0000', diminishing_hotspot: '#f4a3a3', sporadic_hotspot: '#fdd9b5',
    oscillating_hotspot: '#c51b7d', historical_hotspot: '#8c6d62',
    new_coldspot: '#c6dbef', consecutive_coldspot: '#9ecae1', intensifying_coldspot: '#2171b5',
    persistent_coldspot: '#08306b', diminishing_coldspot: '#a6bddb', sporadic_coldspot: '#deebf7',
    oscillating_coldspot: '#6a51a3', historical_coldspot: '#7f8c8d', no_pattern: '#ffffff'
  };

  var kaart = window.avondrondeKaart;
  var aside = document.querySelector('aside.hs-info');
  if (!kaart || !kaart.map || !aside || !window.L) return;
  var map = kaart.map;
  map.createPane('hs-trends').style.zIndex = 430;

  var panel = document.createElement('section');
  panel.id = 'hs-trends';
  panel.innerHTML =
    '<h2>Trends: opkomende hotspots</h2>' +
    '<label class="hs-check"><input type="checkbox" id="hs-trends-on"> toon trends op de kaart</label>' +
    '<label class="hs-trends-step">tijdstap <select id="hs-trends-step">' +
    '<option value="week">per week</option><option value="month">per maand (avonden)</option></select></label>' +
    '<p class="hs-trends-status" id="hs-trends-status" role="status" aria-live="polite"></p>' +
    '<div id="hs-trends-legend" class="hs-trends-legend" aria-label="Legenda trends"></div>' +
    '<div id="hs-trends-cell" class="hs-chart hs-trends-cell"></div>' +
    '<p class="hs-trends-export" hidden><a class="button" id="hs-trends-csv" href="#" download>Trends als CSV</a> ' +
    '<a class="button secondary" id="hs-trends-geojson" href="#" download>Trends als GeoJSON</a></p>' +
    '<p class="muted hs-small">Per cel: is het hier een hotspot, sinds wanneer, en wordt het erger of minder? ' +
    'Berekend per week (of maand) met Gi* over ruimte en tijd, FDR-gecorrigeerd, en de Mann-Kendall-trendtoets. ' +
    'Een trend heeft minstens 8 weken (of maanden) nodig.</p>';
  aside.insertBefore(panel, aside.firstChild);

  var onEl = document.getElementById('hs-trends-on');
  var stepEl = document.getElementById('hs-trends-step');
  var statusEl = document.getElementById('hs-trends-status');
  var legendEl = document.getElementById('hs-trends-legend');
  var cellEl = document.getElementById('hs-trends-cell');
  var exportEl = panel.querySelector('.hs-trends-export');
  var mapEl = map.getContainer();
  var last = null; // { wijk, query } of the map's last refresh
  var data = null;
  var layer = null;
  var selected = null;
  var seq = 0;

  // ISO 2026-11-22 as people read it: 22-11-2026.
  function nlDate(iso) {
    return /^\d{4}-\d{2}-\d{2}$/.test(iso || '') ? iso.split('-').reverse().join('-') : String(iso || '');
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }
  function dec1(x) {
    return x.toLocaleString('nl-NL', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }
  function view() {
    var b = document.querySelector('#hs-viewtoggle button[aria-pressed="true"]');
    return b ? b.dataset.view : 'after';
  }
  function classOf(p) {
    return data && data.compare && view() === 'before' && p.before_class ? p.before_class : p.class;
  }
  function classInfo(code) {
    for (var i = 0; i < data.classes.length; i++) if (data.classes[i].class === code) return data.classes[i];
    return { class: code, label: code, explanation: '' };
  }
  function swatch(colour) {
    return '<svg width="16" height="12" aria-hidden="true"><rect x="0.5" y="0.5" width="15" height="11" fill="' +
      colour + '" stroke="rgba(0,0,0,.35)"/></svg>';
  }
  function setStatus(text, error) {
    statusEl.textContent = text;
    statusEl.className = 'hs-trends-status' + (error ? ' error' : '');
  }

  function style(f) {
    var c = classOf(f.properties);
    var none = c === 'no_pattern';
    return {
      pane: 'hs-trends', className: 'hs-trend-cell', fillColor: COLOURS[c] || '#ffffff',
      fillOpacity: none ? 0.05 : 0.85, color: none ? '#b8c0c8' : '#3d434a', weight: none ? 0.3 : 0.9, opacity: 0.9
    };
  }

  function tooltip(p) {
    var k = classInfo(classOf(p));
    var t = '<strong>' + esc(k.label) + '</strong><br>' + esc(k.explanation);
    if (data.compare) {
      t += '<br>Voor: ' + esc(p.before_label || '') + ' · Na: ' + esc(p.label);
    } else {
      t += '<br>Trend z = ' + dec1(p.trend_z) + (p.trend_significant ? ' (significant)' : ' (niet significant)');
    }
    return t + '<br><small>Klik voor het verloop per ' + (data.step === 'month' ? 'maand' : 'week') + '.</small>';
  }

  function drawLegend() {
    if (!data) { legendEl.innerHTML = ''; return; }
    var before = data.compare && view() === 'before';
    var title = data.compare ? (before ? 'Trendklassen vóór' : 'Trendklassen na') : 'Trendklassen';
    var rows = data.classes.filter(function (k) {
      return (before ? k.before_cells : k.cells) > 0 || k.class === 'no_pattern';
    }).map(function (k) {
      var n = before ? k.before_cells : k.cells;
      var extra = data.compare ? ' <small>(voor ' + k.before_cells + ', na ' + k.cells + ')</small>' : ' <small>(' + n + ')</small>';
      return '<li title="' + esc(k.explanation) + '" data-class="' + esc(k.class) + '">' + swatch(COLOURS[k.class]) +
        ' <span>' + esc(k.label) + '</span>' + extra + '</li>';
    });
    legendEl.innerHTML = '<strong>' + title + '</strong> <small>(aantal cellen)</small><ul>' + rows.join('') + '</ul>';
  }

  // The selected cell's series: a bar per step for its Gi* z (red above 0, blue below,
  // pale when not significant), and the count per step as the map shows it underneath.
  function drawCell() {
    if (!data || !selected) { cellEl.innerHTML = '<p class="muted hs-small">Klik op een cel voor het verloop.</p>'; return; }
    var f = null;
    for (var i = 0; i < data.features.length; i++) if (data.features[i].id === selected) f = data.features[i];
    if (!f) { cellEl.innerHTML = ''; return; }
    var p = f.properties;
    var W = 280, H = 130, top = 8, mid = 62, bottom = 30;
    var n = p.z.length;
    var max = Math.max(3, Math.max.apply(null, p.z.map(Math.abs)));
    var bw = (W - 24) / n;
    var svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="Gi* per ' +
      (data.step === 'month' ? 'maand' : 'week') + ' van de gekozen cel">';
    svg += '<line x1="20" x2="' + W + '" y1="' + mid + '" y2="' + mid + '" stroke="#8a939e" stroke-width="0.8"/>';
    svg += '<text x="0" y="' + (top + 8) + '">+' + Math.round(max) + '</text><text x="0" y="' + (mid + 3) + '">0</text>' +
      '<text x="0" y="' + (2 * mid - top) + '">−' + Math.round(max) + '</text>';
    p.z.forEach(function (z, t) {
      var h = (mid - top) * Math.abs(z) / max;
      var y = z >= 0 ? mid - h : mid;
      var bin = p.bins[t];
      var colour = bin > 0 ? '#d7191c' : bin < 0 ? '#2171b5' : (z >= 0 ? '#f4b6a6' : '#a9c4e0');
      var s = data.steps[t];
      svg += '<rect class="hs-trend-bar" x="' + (22 + t * bw) + '" y="' + y + '" width="' + Math.max(1, bw - 1.5) +
        '" height="' + Math.max(0.5, h) + '" fill="' + colour + '"><title>' + esc(s.label) + ' (vanaf ' + esc(nlDate(s.from)) + '): z = ' +
        dec1(z) + ', aantal ' + esc(p.counts[t]) + '</title></rect>';
    });
    var every = Math.max(1, Math.ceil(n / 6));
    data.steps.forEach(function (s, t) {
      if (t % every === 0 || t === n - 1) {
        svg += '<text x="' + (22 + t * bw) + '" y="' + (H - bottom + 16) + '">' + esc(s.label) + '</text>';
      }
    });
    svg += '</svg>';
    var k = classInfo(p.class);
    var when = data.compare ? '<p class="hs-key">Verloop in de periode na; vóór was het hier: ' +
      esc(p.before_label || '') + '.</p>' : '';
    cellEl.innerHTML = '<p class="hs-title">' + swatch(COLOURS[p.class]) + ' ' + esc(k.label) +
      '<small>' + esc(k.explanation) + '</small></p>' + when + svg +
      '<p class="hs-key"><i class="hs-k-hot"></i>hotspot <i class="hs-k-cold"></i>rustig <i class="hs-k-ns"></i>niet significant · ' +
      'trend z = ' + dec1(p.trend_z) + '</p>' +
      '<p class="hs-key">Aantal per ' + (data.step === 'month' ? 'maand' : 'week') + ': ' + p.counts.map(esc).join(' · ') + '</p>';
  }

  function draw() {
    if (layer) { map.removeLayer(layer); layer = null; }
    mapEl.classList.toggle('hs-trends-on', !!(onEl.checked && data));
    if (!onEl.checked || !data) {
      // Trends off (or not loaded): nothing of an earlier answer stays on the page.
      legendEl.innerHTML = '';
      cellEl.innerHTML = onEl.checked ? '' : '<p class="muted hs-small">Zet de trends aan om ze te zien.</p>';
      exportEl.hidden = true;
      return;
    }
    layer = L.geoJSON(data, {
      pane: 'hs-trends',
      style: style,
      onEachFeature: function (f, l) {
        // The map's own tooltip: it stays whole inside the map, beside the pointer.
        kaart.bindTip(l, function () { return tooltip(f.properties); });
        l.on('click', function () { selected = f.id; drawCell(); });
      }
    }).addTo(map);
    var counts = {};
    data.features.forEach(function (f) { counts[f.properties.class] = (counts[f.properties.class] || 0) + 1; });
    mapEl.dataset.trendClasses = JSON.stringify(counts);
    drawLegend();
    drawCell();
  }

  function load() {
    if (!onEl.checked || !last) {
      // A later filter would make the cached answer stale: forget it, and any answer on
      // its way.
      data = null;
      selected = null;
      seq++;
      draw();
      return;
    }
    var q = last.query + '&step=' + encodeURIComponent(stepEl.value);
    var base = '/api/v1/hotspot/wijken/' + encodeURIComponent(last.wijk) + '/trends';
    document.getElementById('hs-trends-csv').href = base + '/export.csv?' + q;
    document.getElementById('hs-trends-geojson').href = base + '/export.geojson?' + q;
    var mine = ++seq;
    setStatus('Trends berekenen…');
    panel.setAttribute('aria-busy', 'true');
    fetch(base + '?' + q, { credentials: 'same-origin', headers: { Accept: 'application/geo+json' } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body && body.message ? body.message : 'fout ' + r.status);
        return body;
      });
    }).then(function (body) {
      if (mine !== seq) return;
      data = body;
      if (selected && !data.features.some(function (f) { return f.id === selected; })) selected = null;
      exportEl.hidden = false;
      setStatus('');
      draw();
      panel.removeAttribute('aria-busy');
      mapEl.dataset.trendsQuery = q;
      mapEl.dataset.trendsDone = String(mine);
    }).catch(function (e) {
      if (mine !== seq) return;
      data = null;
      exportEl.hidden = true;
      setStatus(e.message, true);
      draw();
      panel.removeAttribute('aria-busy');
      delete mapEl.dataset.trendsQuery;
      mapEl.dataset.trendsDone = String(mine);
    });
  }

  document.addEventListener('hs:refreshed', function (e) {
    last = e.detail;
    load();
  });
  onEl.addEventListener('change', load);
  stepEl.addEventListener('change', load);
  var toggle = document.getElementById('hs-viewtoggle');
  if (toggle) {
    toggle.addEventListener('click', function () {
      if (layer) layer.setStyle(style);
      drawLegend();
    });
  }
  if (kaart.last) last = kaart.last;
  draw();
})();
