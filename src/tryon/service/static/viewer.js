// The result stage: the photo and the try-on on top of each other, a divider between
// "before" (left) and "after" (right), zoom and pan. The images, and the mask canvas of
// the area editor, share one transform, so they stay aligned at every zoom.

const MIN_ZOOM = 1;
const MAX_ZOOM = 8;
const ZOOM_STEP = 1.5;

export class Viewer {
  /**
   * @param {object} parts the stage's elements: box (the frame the images fill), after
   *   (the result's layer), divider, slider (a range input, 0-100), compare (the slider's
   *   label, hidden while the area is edited), zoomIn, zoomOut, zoomFit, zoomLevel (an
   *   <output>).
   */
  constructor(parts) {
    this.parts = parts;
    this.split = Number(parts.slider.value);
    this.zoom = 1;
    this.tx = 0;
    this.ty = 0;
    this.comparing = false;
    /** Set by the area editor: receives pointer events on the photo instead of the divider. */
    this.paintHandler = null;
    this.drag = null;
    parts.slider.addEventListener("input", () => this.setSplit(Number(parts.slider.value)));
    parts.zoomIn.addEventListener("click", () => this.zoomAt(this.zoom * ZOOM_STEP));
    parts.zoomOut.addEventListener("click", () => this.zoomAt(this.zoom / ZOOM_STEP));
    parts.zoomFit.addEventListener("click", () => this.zoomAt(1));
    const box = parts.box;
    box.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    box.addEventListener("pointermove", (e) => this.onPointerMove(e));
    box.addEventListener("pointerup", (e) => this.onPointerUp(e));
    box.addEventListener("pointercancel", (e) => this.onPointerUp(e));
    box.addEventListener("dblclick", (e) => {
      if (this.paintHandler) return;
      const [x, y] = this.boxPoint(e);
      this.zoomAt(this.zoom < 2 ? 2 : 1, x, y);
    });
    box.addEventListener("wheel", (e) => {
      if (!e.ctrlKey && !e.metaKey && this.zoom === 1) return; // let the page scroll
      e.preventDefault();
      const [x, y] = this.boxPoint(e);
      this.zoomAt(this.zoom * (e.deltaY < 0 ? 1.2 : 1 / 1.2), x, y);
    }, {passive: false});
    this.apply();
  }

  /** Shows the before/after divider (a result is there) or the photo alone. */
  setComparing(comparing) {
    this.comparing = comparing;
    this.apply();
  }

  /** Moves the divider to `percent` of the width from the left (0: all after). */
  setSplit(percent) {
    this.split = Math.min(100, Math.max(0, percent));
    this.parts.slider.value = String(Math.round(this.split));
    const before = Math.round(this.split);
    this.parts.slider.setAttribute("aria-valuetext", `${before}% before, ${100 - before}% after`);
    this.apply();
  }

  /** Zooms to `zoom`, keeping the box point (x, y) (default: the centre) in place. */
  zoomAt(zoom, x = null, y = null) {
    const {width, height} = this.parts.box.getBoundingClientRect();
    const cx = x ?? width / 2;
    const cy = y ?? height / 2;
    const next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
    const qx = (cx - this.tx) / this.zoom;
    const qy = (cy - this.ty) / this.zoom;
    this.zoom = next;
    this.tx = cx - next * qx;
    this.ty = cy - next * qy;
    this.apply();
  }

  /** Back to the whole photo, the divider in the middle. */
  reset() {
    this.zoom = 1;
    this.tx = 0;
    this.ty = 0;
    this.setSplit(50);
  }

  /** A pointer event's position in the box, in CSS pixels (before the zoom). */
  boxPoint(event) {
    const rect = this.parts.box.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  /** A pointer event's position on the photo, in photo pixels (x right, y down). */
  photoPoint(event, photoWidth, photoHeight) {
    const rect = this.parts.box.getBoundingClientRect();
    const [bx, by] = this.boxPoint(event);
    const qx = (bx - this.tx) / this.zoom;
    const qy = (by - this.ty) / this.zoom;
    return [(qx * photoWidth) / rect.width, (qy * photoHeight) / rect.height];
  }

  /** Photo pixels per CSS pixel on screen at the current zoom. */
  photoScale(photoWidth) {
    return photoWidth / (this.parts.box.getBoundingClientRect().width * this.zoom);
  }

  onPointerDown(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    this.parts.box.setPointerCapture(event.pointerId);
    if (this.paintHandler) {
      this.drag = {kind: "paint"};
      this.paintHandler.down(event);
      return;
    }
    const onHandle = event.target.closest(".divider");
    if (this.zoom > 1 && !onHandle) {
      this.drag = {kind: "pan", x: event.clientX - this.tx, y: event.clientY - this.ty};
    } else if (this.comparing) {
      this.drag = {kind: "split"};
      this.splitTo(event);
    }
  }

  onPointerMove(event) {
    if (!this.drag) return;
    if (this.drag.kind === "paint") this.paintHandler?.move(event);
    else if (this.drag.kind === "split") this.splitTo(event);
    else {
      this.tx = event.clientX - this.drag.x;
      this.ty = event.clientY - this.drag.y;
      this.apply();
    }
  }

  onPointerUp(event) {
    if (this.drag && this.drag.kind === "paint") this.paintHandler?.up(event);
    this.drag = null;
  }

  splitTo(event) {
    const [x] = this.boxPoint(event);
    this.setSplit((100 * x) / this.parts.box.getBoundingClientRect().width);
  }

  /** Keeps the zoomed photo covering the box, then writes the state into CSS. */
  apply() {
    const box = this.parts.box;
    const {width, height} = box.getBoundingClientRect();
    this.tx = Math.min(0, Math.max(width - width * this.zoom, this.tx));
    this.ty = Math.min(0, Math.max(height - height * this.zoom, this.ty));
    box.style.setProperty("--split", `${this.split}%`);
    box.style.setProperty("--zoom", String(this.zoom));
    box.style.setProperty("--tx", `${this.tx}px`);
    box.style.setProperty("--ty", `${this.ty}px`);
    box.classList.toggle("zoomed", this.zoom > 1);
    box.classList.toggle("comparing", this.comparing);
    this.parts.divider.hidden = !this.comparing || Boolean(this.paintHandler);
    this.parts.after.hidden = !this.comparing || Boolean(this.paintHandler);
    this.parts.slider.disabled = !this.comparing || Boolean(this.paintHandler);
    // While the area is edited the stage shows the photo alone: nothing to compare.
    if (this.parts.compare) this.parts.compare.hidden = Boolean(this.paintHandler);
    this.parts.zoomLevel.value = `${Math.round(this.zoom * 100)}%`;
    this.parts.zoomOut.disabled = this.zoom <= MIN_ZOOM;
    this.parts.zoomIn.disabled = this.zoom >= MAX_ZOOM;
  }
}
