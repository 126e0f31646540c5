// The try-on area editor: the area the try-on may change (the agnostic mask) drawn over
// the photo, with a brush, an eraser, a click-to-select tool (an edge-aware cut made by
// the server), grow, shrink and undo. The mask is one byte per photo pixel, 1 inside.

const TINT = [236, 72, 112, 120]; // RGBA of the area over the photo
const HISTORY = 20; // undo steps kept
const GROW_FRACTION = 0.012; // grow / shrink by this much of the photo's longer side

/** Reads a PNG (white = inside) into a one-byte-per-pixel mask of width x height. */
export async function maskFromBlob(blob, width, height) {
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(bitmap, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = rgba[4 * i] >= 128 ? 1 : 0;
  return mask;
}

/** Max (grow) or min (shrink) of `mask` over a (2r+1) square, as two 1-D passes. */
export function morph(mask, width, height, r, grow) {
  const pass = (src, dst, len, count, stride, step) => {
    for (let line = 0; line < count; line++) {
      const base = line * stride;
      for (let i = 0; i < len; i++) {
        let value = grow ? 0 : 1;
        const lo = Math.max(0, i - r);
        const hi = Math.min(len - 1, i + r);
        for (let j = lo; j <= hi; j++) {
          const v = src[base + j * step];
          if (grow ? v : !v) {
            value = grow ? 1 : 0;
            break;
          }
        }
        // Outside the photo counts as inside for a shrink: the border is no edge.
        dst[base + i * step] = value;
      }
    }
  };
  const rows = new Uint8Array(mask.length);
  pass(mask, rows, width, height, width, 1);
  const out = new Uint8Array(mask.length);
  pass(rows, out, height, width, 1, width);
  return out;
}

export class MaskEditor {
  /**
   * @param {HTMLCanvasElement} canvas drawn over the photo, at the photo's size.
   * @param {object} hooks select(x, y, maskBlob) -> Promise<Uint8Array> (the region
   *   at the photo point), changed() after every edit, busy(text) while waiting.
   */
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks;
    this.mask = null;
    this.original = null;
    this.width = 0;
    this.height = 0;
    this.history = [];
    this.tool = "brush";
    this.radius = 12;
    this.last = null;
  }

  /** Starts editing `mask` (the server's area) of a width x height photo. */
  load(mask, width, height) {
    this.width = width;
    this.height = height;
    this.canvas.width = width;
    this.canvas.height = height;
    this.mask = mask;
    this.original = mask.slice();
    this.history = [];
    this.render();
  }

  get edited() {
    if (!this.mask) return false;
    for (let i = 0; i < this.mask.length; i++) if (this.mask[i] !== this.original[i]) return true;
    return false;
  }

  get empty() {
    return !this.mask || !this.mask.some((v) => v);
  }

  /** Pixels inside the area, as a share of the photo. */
  get share() {
    if (!this.mask) return 0;
    let count = 0;
    for (let i = 0; i < this.mask.length; i++) count += this.mask[i];
    return count / this.mask.length;
  }

  remember() {
    this.history.push(this.mask.slice());
    if (this.history.length > HISTORY) this.history.shift();
  }

  undo() {
    if (!this.history.length) return;
    this.mask = this.history.pop();
    this.render();
    this.hooks.changed();
  }

  reset() {
    if (!this.original) return;
    this.remember();
    this.mask = this.original.slice();
    this.render();
    this.hooks.changed();
  }

  grow(sign) {
    const r = Math.max(1, Math.round(GROW_FRACTION * Math.max(this.width, this.height)));
    this.remember();
    this.mask = morph(this.mask, this.width, this.height, r, sign > 0);
    this.render();
    this.hooks.changed();
  }

  /** Draws the area in `rect` (default: all) as a tint over the photo. */
  render(rect = null) {
    const [x0, y0, x1, y1] = rect || [0, 0, this.width, this.height];
    const w = x1 - x0;
    const h = y1 - y0;
    if (w <= 0 || h <= 0) return;
    const ctx = this.canvas.getContext("2d");
    const image = ctx.createImageData(w, h);
    const data = image.data;
    for (let y = 0; y < h; y++) {
      const row = (y0 + y) * this.width + x0;
      for (let x = 0; x < w; x++) {
        if (this.mask[row + x]) data.set(TINT, 4 * (y * w + x));
      }
    }
    ctx.putImageData(image, x0, y0);
  }

  /** Sets a disk of the brush's radius around (cx, cy) to `value`; returns its rect. */
  dab(cx, cy, value) {
    const r = this.radius;
    const x0 = Math.max(0, Math.floor(cx - r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const x1 = Math.min(this.width, Math.ceil(cx + r) + 1);
    const y1 = Math.min(this.height, Math.ceil(cy + r) + 1);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.mask[y * this.width + x] = value;
      }
    }
    return [x0, y0, x1, y1];
  }

  /** Paints from the last point to (x, y), dab by dab. */
  strokeTo(x, y) {
    const value = this.tool === "brush" ? 1 : 0;
    const [px, py] = this.last || [x, y];
    const steps = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / Math.max(1, this.radius / 3)));
    let rect = null;
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      const r = this.dab(px + (x - px) * t, py + (y - py) * t, value);
      rect = rect ? [Math.min(rect[0], r[0]), Math.min(rect[1], r[1]),
        Math.max(rect[2], r[2]), Math.max(rect[3], r[3])] : r;
    }
    this.last = [x, y];
    this.render(rect);
  }

  /** Pointer handlers, called by the viewer with photo coordinates. */
  down(x, y) {
    if (this.tool === "select") return this.selectAt(x, y);
    this.remember();
    this.last = null;
    this.strokeTo(x, y);
  }

  move(x, y) {
    if (this.tool !== "select" && this.last) this.strokeTo(x, y);
  }

  up() {
    if (this.tool !== "select" && this.last) {
      this.last = null;
      this.hooks.changed();
    }
  }

  /** Adds the region at (x, y) (outside the area), or removes it (inside). */
  async selectAt(x, y) {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const inside = this.mask[py * this.width + px] === 1;
    this.hooks.busy(inside ? "Finding the region to remove…" : "Finding the region to add…");
    let region;
    try {
      region = await this.hooks.select(px, py, await this.toBlob());
    } finally {
      this.hooks.busy("");
    }
    if (!region) return;
    this.remember();
    for (let i = 0; i < region.length; i++) if (region[i]) this.mask[i] = inside ? 0 : 1;
    this.render();
    this.hooks.changed();
  }

  /** The mask as a PNG the size of the photo: white inside, black outside. */
  toBlob() {
    const canvas = document.createElement("canvas");
    canvas.width = this.width;
    canvas.height = this.height;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(this.width, this.height);
    const data = image.data;
    for (let i = 0; i < this.mask.length; i++) {
      const v = this.mask[i] ? 255 : 0;
      data[4 * i] = v;
      data[4 * i + 1] = v;
      data[4 * i + 2] = v;
      data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }
}
