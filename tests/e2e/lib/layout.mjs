// What a person sees on a page, checked: elements shown, inside the
// window, not on top of each other, in the expected language.
import assert from 'node:assert/strict';

// Boxes (CSS px, page coordinates) and texts of the first element matching
// each selector, with the window's size and the page's scroll width.
export function layout(page, selectors) {
  return page.evaluate((sels) => {
    const out = {
      lang: document.documentElement.lang,
      viewport: { width: window.innerWidth, height: window.innerHeight },
      scrollWidth: (document.scrollingElement || document.documentElement).scrollWidth,
      items: {},
    };
    for (const sel of sels) {
      const el = document.querySelector(sel);
      if (!el) { out.items[sel] = null; continue; }
      const r = el.getBoundingClientRect();
      let shown = r.width > 0 && r.height > 0 && !el.closest('[hidden]');
      for (let e = el; shown && e; e = e.parentElement) {
        const cs = getComputedStyle(e);
        if (cs.display === 'none' || cs.visibility === 'hidden' || Number(cs.opacity) === 0) shown = false;
      }
      out.items[sel] = {
        shown,
        x: r.left + window.scrollX,
        y: r.top + window.scrollY,
        width: r.width,
        height: r.height,
        text: (el.innerText || el.value || '').trim(),
      };
    }
    return out;
  }, selectors);
}

const overlap = (a, b) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5
  && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;
const inside = (a, b) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5
  && a.x + a.width <= b.x + b.width + 0.5 && a.y + a.height <= b.y + b.height + 0.5;

// Checks the layout `page` shows and returns it:
// - shown: selectors that must be visible, with a size, and inside the
//   window's width (and its height too, with `inViewport`: nothing needs
//   scrolling);
// - hidden: selectors that must not be visible;
// - apart: selectors of which no two may overlap;
// - within: [[inner, outer], ...] pairs where inner lies inside outer;
// - texts: {selector: string or RegExp} in the expected language;
// - lang: the page's <html lang>.
// The page itself never scrolls sideways.
export async function assertLayout(page, { shown = [], hidden = [], apart = [], within = [], texts = {}, lang, inViewport = false }) {
  const sels = [...new Set([...shown, ...hidden, ...apart, ...within.flat(), ...Object.keys(texts)])];
  const l = await layout(page, sels);
  const where = (s) => JSON.stringify(l.items[s]);
  if (lang) assert.equal(l.lang, lang, 'page language');
  assert.ok(l.scrollWidth <= l.viewport.width, `the page is wider (${l.scrollWidth}) than the window (${l.viewport.width})`);
  const win = { x: 0, y: 0, width: l.viewport.width, height: inViewport ? l.viewport.height : Infinity };
  for (const s of shown) {
    assert.ok(l.items[s]?.shown, `${s} is not shown: ${where(s)}`);
    assert.ok(inside(l.items[s], win), `${s} is outside the window (${l.viewport.width}x${l.viewport.height}): ${where(s)}`);
  }
  for (const s of hidden) assert.ok(!l.items[s]?.shown, `${s} is shown but should not be: ${where(s)}`);
  for (let i = 0; i < apart.length; i++) {
    for (let j = i + 1; j < apart.length; j++) {
      const a = l.items[apart[i]];
      const b = l.items[apart[j]];
      assert.ok(a?.shown && b?.shown, `${apart[i]} and ${apart[j]} must both be shown`);
      assert.ok(!overlap(a, b), `${apart[i]} ${where(apart[i])} overlaps ${apart[j]} ${where(apart[j])}`);
    }
  }
  for (const [a, b] of within) {
    assert.ok(inside(l.items[a], l.items[b]), `${a} ${where(a)} is not inside ${b} ${where(b)}`);
  }
  for (const [s, want] of Object.entries(texts)) {
    if (want instanceof RegExp) assert.match(l.items[s]?.text ?? '', want, `text of ${s}`);
    else assert.equal(l.items[s]?.text, want, `text of ${s}`);
  }
  return l;
}
