//! The field theme: dark, high contrast, big tap targets (at least 48 px), readable at
//! arm's length in the rain, from 360×640 up.

/// The app's stylesheet.
pub const THEME_CSS: &str = r#"
:root { color-scheme: dark; }
* { box-sizing: border-box; }
html, body { margin: 0; background: #000; color: #fff; }
body, button, input, textarea, select {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 18px;
}
.app { max-width: 640px; margin: 0 auto; min-height: 100vh; padding-bottom: 180px; }
header.top { position: sticky; top: 0; z-index: 5; background: #111; border-bottom: 2px solid #333; }
.titlebar { display: flex; align-items: center; justify-content: space-between; padding: 4px 12px; }
.titlebar h1 { font-size: 20px; margin: 0; color: #ffd400; }
.pill { border-radius: 999px; padding: 4px 12px; font-weight: 700; font-size: 16px; border: 2px solid #fff; }
.pill.ok { border-color: #3ddc84; color: #3ddc84; }
.pill.wait { border-color: #ffb300; color: #ffb300; }
.pill.bad { border-color: #ff5c5c; color: #ff5c5c; }
nav.tabs { display: flex; }
nav.tabs button { flex: 1 1 auto; min-height: 52px; padding: 0 4px; white-space: nowrap; background: #111; color: #fff; border: 0; border-top: 2px solid #333; font-size: 15px; }
nav.tabs button.active { color: #ffd400; border-top-color: #ffd400; font-weight: 700; }
.badge { display: inline-block; min-width: 20px; padding: 0 5px; margin-left: 3px; font-size: 14px; border-radius: 12px; background: #ff5c5c; color: #000; font-weight: 800; }
.screen { padding: 12px; }
h2 { font-size: 22px; margin: 12px 0 8px; }
h3 { font-size: 18px; margin: 16px 0 6px; color: #ccc; }
/* A compact screen title (the record screen names itself and its wijk). */
h2.screen-title { font-size: 19px; margin: 0 0 8px; color: #ffd400; }
p, li { line-height: 1.4; }
.muted { color: #bbb; }
/* A one-line explanation right under a heading. */
p.hint { margin: 0 0 6px; font-size: 16px; }
button { cursor: pointer; }
.btn { min-height: 56px; min-width: 48px; padding: 8px 16px; border-radius: 10px; border: 2px solid #fff;
  background: #222; color: #fff; font-weight: 700; }
.btn.primary { background: #ffd400; color: #000; border-color: #ffd400; }
.btn.danger { background: #000; color: #ff5c5c; border-color: #ff5c5c; }
.btn.wide { width: 100%; margin: 6px 0; }
.btn:disabled { opacity: 0.45; }
/* A rare or risky action that must not look like the next step: smaller, no fill. */
.btn.quiet { min-height: 48px; padding: 6px 14px; background: transparent; border-color: #777; color: #ddd; font-weight: 600; font-size: 16px; }
.btn.back { min-height: 48px; padding: 6px 14px; margin: 4px 0 0; background: transparent; border-color: #777; }
.row.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.file-pick { display: flex; align-items: center; justify-content: center; position: relative; }
.file-pick input[type="file"] { position: absolute; width: 1px; height: 1px; min-height: 0; padding: 0; opacity: 0; overflow: hidden; }
.file-pick:focus-within { outline: 3px solid #ffd400; outline-offset: 2px; }
.device { margin-top: 32px; padding-top: 4px; border-top: 2px solid #333; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.chips { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin: 6px 0; }
.chips.single { grid-template-columns: 1fr; }
.chip { min-height: 52px; padding: 6px 10px; border-radius: 26px; border: 2px solid #888; background: #111; color: #fff; font-weight: 600; font-size: 17px; }
.chip.on { background: #fff; color: #000; border-color: #fff; }
.bands { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 6px; margin: 4px 0; }
.band { display: flex; flex-direction: column; gap: 2px; align-items: stretch; text-align: center; }
.band .label { font-weight: 700; font-size: 16px; white-space: nowrap; }
.band .count { font-size: 24px; font-weight: 800; line-height: 1.1; }
.band .plus { min-height: 56px; background: #ffd400; color: #000; border: 0; border-radius: 10px; font-size: 28px; font-weight: 900; }
.band .minus { min-height: 48px; background: #222; color: #fff; border: 2px solid #666; border-radius: 10px; font-size: 24px; }
/* The verdict is always two lines high, longer text clipped (the details per age band are in
   the scroll area): the counters above it never move when it grows (rev3 finding 1). */
.verdict { border-radius: 10px; padding: 4px 10px; margin: 0 0 6px; font-weight: 700; border: 3px solid;
  font-size: 16px; line-height: 1.25; height: calc(2.5em + 14px); overflow: hidden; }
.verdict-text { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden; }
.verdict-detail { margin: 4px 0 8px; padding-left: 18px; color: #ddd; }
.verdict.empty { background: #161616; border-color: #666; color: #ccc; }
.verdict.ok { background: #06351c; border-color: #3ddc84; color: #b9ffd6; }
.verdict.warning { background: #3d2a00; border-color: #ffb300; color: #ffe29a; }
.verdict.alert { background: #4a0000; border-color: #ff5c5c; color: #fff; }
.verdict ul { margin: 4px 0 0; padding-left: 18px; font-weight: 500; }
.warn { color: #ffb300; font-weight: 600; }
.error { color: #ff8080; font-weight: 700; }
.field { display: block; margin: 10px 0; }
.field span { display: block; margin-bottom: 4px; color: #ccc; }
input, textarea { width: 100%; min-height: 52px; padding: 10px; border-radius: 8px; border: 2px solid #888; background: #111; color: #fff; }
textarea { min-height: 120px; }
.field .field-error { margin: 4px 0 0; color: #ff8080; font-weight: 700; }
.field .field-note { margin: 4px 0 0; color: #b9ffd6; }
input[aria-invalid="true"] { border-color: #ff5c5c; }
.thumb { position: fixed; left: 0; right: 0; bottom: 0; z-index: 6; max-width: 640px; margin: 0 auto; padding: 6px 12px 8px; background: #000; border-top: 2px solid #333; }
html:has(.thumb) { scroll-padding: 110px 0 400px; }
.thumb-space { height: 400px; }
.savebar { padding-top: 4px; background: #000; }
.savebar .btn { width: 100%; min-height: 60px; font-size: 22px; display: block; margin: 0 auto; }
.repeat { width: 100%; min-height: 56px; padding: 4px 12px; margin: 0 0 4px; display: flex; flex-direction: column; align-items: flex-start; text-align: left; background: #0b2f4a; border-color: #5cb8ff; }
/* What "Zelfde als vorige" fills in, and the confirmation of a save: up to two lines, so the
   count and the behaviour stay visible (rev3 finding 6). Both sit above the counters. */
.repeat-what { font-weight: 500; font-size: 15px; line-height: 1.3; color: #cfe9ff; max-width: 100%; overflow: hidden;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; }
.suggestions { display: grid; grid-template-columns: 1fr; gap: 8px; margin: 6px 0; }
.suggestion { text-align: left; border-color: #5cb8ff; }
.confirmed { margin: 0 0 6px; background: #06351c; color: #b9ffd6; border-radius: 8px; padding: 3px 10px; font-weight: 700; font-size: 16px; line-height: 1.3;
  overflow: hidden; display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; }
/* Short screens (360×640): the same fixed panel, so the counters stay put there too, but
   compact (rev3 finding 4): smaller texts, and the verdict (three lines at most, always
   that high) beside Opslaan instead of above it. */
@media (max-height: 700px) {
  .thumb { padding: 4px 10px 6px; }
  html:has(.thumb) { scroll-padding: 100px 0 320px; }
  .thumb-space { height: 320px; }
  .confirmed { font-size: 14px; padding: 2px 8px; margin-bottom: 4px; }
  .confirmed .confirmed-what { display: none; }
  .repeat { min-height: 48px; padding: 2px 10px; }
  .repeat-title { font-size: 16px; }
  .repeat-what { font-size: 14px; line-height: 1.25; }
  .bands { gap: 4px; margin: 2px 0 4px; }
  .band .label { font-size: 14px; line-height: 1.1; }
  .band .count { font-size: 20px; line-height: 1; }
  .band .plus, .band .minus { min-height: 48px; font-size: 24px; }
  .savebar { display: grid; grid-template-columns: 3fr 2fr; gap: 6px; padding-top: 0; }
  .verdict { font-size: 14px; height: calc(3.75em + 14px); margin: 0; }
  .verdict-text { -webkit-line-clamp: 3; }
  .savebar .btn { min-height: 48px; height: 100%; font-size: 20px; padding: 4px 8px; }
}
/* The toast near the bottom, where the eyes and the thumb are, never over a heading (rev3
   finding 20); on the record screen and the map just above their bottom panel. Taps go
   through it. */
.toast { position: fixed; left: 12px; right: 12px; bottom: 16px; max-width: 616px; margin: 0 auto; z-index: 1002; background: #3ddc84; color: #000; font-weight: 800;
  padding: 10px 12px; border-radius: 10px; text-align: center; pointer-events: none; box-shadow: 0 0 0 2px #000; }
.toast.above { position: absolute; bottom: calc(100% + 8px); }
.list { list-style: none; padding: 0; margin: 0; }
.list li { border-bottom: 1px solid #333; padding: 10px 0; }
.list li.saved { flex-wrap: nowrap; justify-content: space-between; }
.saved-what { flex: 1 1 auto; min-width: 0; }
.list li.saved .btn { flex: 0 0 auto; }
.past-norm { display: inline-block; margin-left: 8px; padding: 0 8px; border-radius: 10px; background: #4a0000; border: 2px solid #ff5c5c; color: #fff; font-size: 15px; font-weight: 700; }
.state-pending { color: #ffb300; font-weight: 700; }
.state-sent { color: #3ddc84; font-weight: 700; }
.state-quarantined { color: #ff5c5c; font-weight: 700; }
progress { width: 100%; height: 18px; }
.card { border: 2px solid #333; border-radius: 10px; padding: 10px 12px; margin: 8px 0; }
.card.done { border-color: #3ddc84; }
.card.done.waiting { border-color: #ffb300; }
.card.done h2 { margin-top: 2px; }
.new { border-color: #ffd400; }
/* The map screen: dark tiles (the PDOK map inverted), a plain dark background when the
   tiles fail, 48 px controls, and the buttons in the thumb zone. */
.map { height: calc(100vh - 320px); min-height: 260px; border: 2px solid #333; border-radius: 10px; background: #111; }
.map.picking { cursor: crosshair; border-color: #ffd400; }
.map-summary, .map-hint, .map-notice { margin: 0 0 6px; }
/* Two lines each, whatever they say, so the map never moves under the finger. */
.map-summary, .map-hint { min-height: 2.8em; font-size: 16px; line-height: 1.4; }
.map-hint { font-weight: 700; color: #ffd400; }
.map.leaflet-container { background: #111; font: inherit; }
.map.leaflet-container .basemap { filter: invert(1) hue-rotate(180deg) brightness(0.85) contrast(0.9); }
.map.leaflet-container .leaflet-bar a { width: 48px; height: 48px; line-height: 48px; font-size: 26px; background: #222; color: #fff; border-bottom-color: #555; }
.map.leaflet-container .leaflet-bar a:hover { background: #333; color: #fff; }
.map.leaflet-container .leaflet-bar { border: 2px solid #888; }
.leaflet-container .leaflet-control-attribution { background: rgba(0,0,0,0.7); color: #bbb; font-size: 12px; }
.leaflet-tooltip.map-label { background: #000; color: #cfe9ff; border: 1px solid #5cb8ff; font-size: 14px; font-weight: 700; box-shadow: none; }
.leaflet-tooltip.map-label::before { display: none; }
.map.labels-hidden .leaflet-tooltip.map-label { display: none; }
/* Area rules (a burgemeestersbevel): hatched, with their name at the top edge. */
.map.leaflet-container path.map-rule { fill: url(#avondronde-hatch); }
.map-rule-label span { position: absolute; transform: translate(-50%, 4px); width: max-content; max-width: 250px; text-align: center;
  padding: 1px 6px; border-radius: 6px; background: #000; color: #ffc2ee; border: 2px solid #ff7ad9; font-size: 14px; line-height: 1.25; font-weight: 700; }
/* The number of contacts at one spot, beside their dot. */
.map-stack span { display: block; width: 26px; height: 26px; line-height: 22px; text-align: center; border-radius: 13px;
  background: #fff; color: #000; border: 2px solid #000; font-size: 15px; font-weight: 900; }
.map-pin span { display: block; width: 28px; height: 28px; margin: 2px 6px; border-radius: 50% 50% 50% 0; transform: rotate(-45deg); background: #ffd400; border: 3px solid #000; box-shadow: 0 0 0 2px #ffd400; }
.mapbar { position: fixed; left: 0; right: 0; bottom: 0; z-index: 1001; max-width: 640px; margin: 0 auto; padding: 8px 12px; display: grid; grid-template-columns: 1fr 1fr; gap: 8px; background: #000; border-top: 2px solid #333; }
.mapbar .btn { min-height: 60px; }
"#;
