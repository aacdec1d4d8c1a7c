// The palette of worker colours shared by the diagnostics map and the /play minimap. Kept under
// /play/ because gateways serve only that folder.

const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#e15759",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

function hslToHex(h, s, l) {
  const f = (n) => {
    const k = (n + h / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** The colour of the i-th worker: a fixed palette, then well-spread hues. */
export function workerColour(i) {
  return i < PALETTE.length ? PALETTE[i] : hslToHex((i * 137.508) % 360, 0.55, 0.55);
}
