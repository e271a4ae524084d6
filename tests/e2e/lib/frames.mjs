// How long a <video> picture stood still between two frames it presented,
// for the page tests that time freezes with requestVideoFrameCallback.
// Installed in a page with context.addInitScript(framesProbe); the page then
// has window.__standStill(gap, prevMeta, meta).
//
// gap is the time between two callbacks (ms), prevMeta and meta the
// VideoFrameCallbackMetadata of the two. The result is the picture's
// longest stand-still that gap can stand for:
// - a callback gap in which several frames were presented (the page's main
//   thread was busy, the compositor was not) stood still at most
//   gap / presented on average; a gap with one frame presented is a
//   stand-still of its whole length;
// - and no longer than the picture clock advanced meanwhile: a gap of
//   333 ms in which the media time moved 139 ms is the sender's stall (its
//   encoder skipped frames on a busy machine), not something the receiving
//   path held back. A freeze from a renegotiation (a track replaced, a
//   keyframe awaited) skips frames the sender made, so its media time moves
//   as long as the gap.
export function framesProbe() {
  window.__standStill = (gap, prev, meta) => {
    const shown = Math.max(1, meta.presentedFrames - prev.presentedFrames);
    const media = (meta.mediaTime - prev.mediaTime) * 1000;
    return Math.min(gap / shown, media > 0 ? media : gap);
  };
}
