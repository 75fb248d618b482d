// What the coordinator map's browser tests (hotspot and trends) share: hovering the cells at
// the map's edges and checking each tooltip. One place, so the two pages are held to the
// same rule: a tooltip lies whole inside the map, not over the pointer, and under nothing.

import assert from 'node:assert/strict';

/** The centres of the cells matching `selector` where the cell itself is under the pointer. */
async function reachable(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    const x = r.x + r.width / 2;
    const y = r.y + r.height / 2;
    return { x, y, free: document.elementFromPoint(x, y) === e };
  }).filter((c) => c.free));
}

/**
 * Zooms the map in (so that cells fill it to its edges), hovers the outermost reachable
 * cell matching `selector` at the top, bottom, left and right, and the cells `extra`
 * names (a name and a selector; its rightmost reachable cell), and checks each tooltip.
 * `onEach(edge)` runs while a tooltip shows (for a screenshot). Restores the zoom and
 * answers the tooltips' texts.
 */
export async function tooltipsAtTheEdges(page, selector, { extra = {}, onEach = async () => {} } = {}) {
  const frame = await page.locator('#hs-map').boundingBox();
  const zoom = await page.evaluate(() => {
    const m = window.avondrondeKaart.map;
    const z = m.getZoom();
    m.setZoom(z + 1.5, { animate: false });
    return z;
  });
  await page.waitForTimeout(200);
  const cells = await reachable(page, selector);
  assert.ok(cells.length > 20, 'cells to hover');
  const by = (f) => cells.reduce((a, c) => (f(c) < f(a) ? c : a));
  const edges = { top: by((c) => c.y), bottom: by((c) => -c.y), left: by((c) => c.x), right: by((c) => -c.x) };
  for (const [name, sel] of Object.entries(extra)) {
    const some = await reachable(page, sel);
    assert.ok(some.length > 0, `a cell to hover: ${name}`);
    edges[name] = some.reduce((a, c) => (c.x > a.x ? c : a));
  }
  const texts = [];
  for (const [edge, c] of Object.entries(edges)) {
    await page.mouse.move(c.x, c.y);
    const tip = page.locator('.hs-tip');
    await tip.waitFor({ timeout: 5_000 });
    const r = await tip.boundingBox();
    assert.ok(r.x >= frame.x && r.y >= frame.y && r.x + r.width <= frame.x + frame.width &&
      r.y + r.height <= frame.y + frame.height, `the tooltip at the ${edge} edge runs off the map: ${JSON.stringify(r)}`);
    assert.ok(!(c.x >= r.x && c.x <= r.x + r.width && c.y >= r.y && c.y <= r.y + r.height),
      `the tooltip at the ${edge} edge lies over the pointer`);
    // Nothing over the map (the legend, the notice, the view buttons) hides it.
    // (A tooltip lets the pointer through, so elementFromPoint would pass it by: for this
    // one look it may catch the pointer.)
    const onTop = await page.evaluate(({ x, y }) => {
      const el = document.querySelector('.hs-tip');
      el.style.pointerEvents = 'auto';
      const top = document.elementFromPoint(x, y);
      el.style.pointerEvents = '';
      return !!top?.closest('.hs-tip');
    }, { x: r.x + r.width / 2, y: r.y + r.height / 2 });
    assert.ok(onTop, `the tooltip at the ${edge} edge lies under something`);
    texts.push(await tip.innerText());
    await onEach(edge);
    await page.mouse.move(frame.x + frame.width / 2, frame.y - 20);
    await tip.waitFor({ state: 'detached', timeout: 5_000 }).catch(() => {});
  }
  await page.evaluate((z) => window.avondrondeKaart.map.setZoom(z, { animate: false }), zoom);
  await page.waitForTimeout(200);
  return texts;
}
