// The try-on web page: pick a person and a garment, or a top and a bottom together (an
// outfit), or an example pair, send them to the HTTP API, compare the result with the photo, download it, edit the area the
// try-on may change. Plain browser JavaScript modules, no build step, no third-party
// code; it speaks only to the same server (the /v1 API).

import {MaskEditor, maskFromBlob} from "./mask-editor.js";
import {Viewer} from "./viewer.js";

const $ = (id) => document.getElementById(id);

/** What the download's file name ends with, per media type. */
const EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/avif": "avif"};
/** What the page sends (the service reads these formats). */
const ACCEPTED = ["image/jpeg", "image/png", "image/webp"];

/** What the shopper has chosen so far. */
const state = {
  person: null, // {blob: Blob, label: string, stem: string}
  outfit: [], // the chosen garments: {id, name, category}; one, or a top and a bottom
  garments: [], // the catalog, as GET /v1/garments lists it
  samples: [], // sample people, as GET /v1/samples lists them
  engines: new Map(), // name -> {name, mode, available, reason, presets, default_preset}
  busy: false,
  job: null, // {url, source} while a job runs
  urls: {original: null, result: null}, // object URLs to revoke when replaced
  result: null, // {blob, name} of the result shown, for the download
  area: null, // {key, width, height} of the try-on area loaded in the editor
  editing: false,
  apiKey: sessionStorage.getItem("tryon-api-key") || "", // sent as X-API-Key when set
};

// ---------------------------------------------------------------- messages

/** An error whose message is fit to show to the person using the page. */
class ApiError extends Error {}

/** Reads the API's JSON error ({"error": {"type", "message"}}) from a failed response. */
async function errorFrom(response) {
  let message = "";
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      message = body.error.message;
    }
  } catch {
    // Not JSON (a proxy's page, say): fall back to the status line below.
  }
  if (!message) {
    const status = `${response.status} ${response.statusText}`.trim();
    message = `The server answered ${status}. Please try again in a moment.`;
  }
  return new ApiError(message);
}

/** fetch() that turns a failed request or an error status into an ApiError. */
async function request(url, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.apiKey) headers.set("X-API-Key", state.apiKey);
  let response;
  try {
    response = await fetch(url, {...options, headers});
  } catch {
    throw new ApiError("Could not reach the server. Check that it is running, then try again.");
  }
  if (!response.ok) {
    throw await errorFrom(response);
  }
  return response;
}

function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
}

function clearMessage() {
  const box = $("message");
  box.hidden = true;
  box.textContent = "";
}

/** Shows any error as a sentence; never a stack trace or "undefined". */
function showError(error) {
  const text = error instanceof ApiError && error.message
    ? error.message
    : "Something went wrong in the page. Reload it and try again.";
  if (!(error instanceof ApiError)) console.error(error);
  showMessage(text, "error");
}

function setBusy(busy, label = "Try on") {
  state.busy = busy;
  const button = $("tryon-button");
  button.disabled = busy;
  button.textContent = busy ? label : "Try on";
  $("result-section").setAttribute("aria-busy", String(busy));
}

// ---------------------------------------------------------------- choices

/** A radio button (or a checkbox) shown as a thumbnail; returns the <input>. */
function thumbChoice(container, {group, value, label, detail = "", src, alt, type = "radio"}) {
  const wrapper = document.createElement("label");
  wrapper.className = "thumb";
  const input = document.createElement("input");
  input.type = type;
  input.name = group;
  input.value = value;
  const img = document.createElement("img");
  setImageSource(img, src);
  img.alt = alt;
  img.decoding = "async";
  const caption = document.createElement("span");
  caption.className = "thumb-label";
  breakableText(caption, label);
  wrapper.append(input, img, caption);
  if (detail) {
    const extra = document.createElement("span");
    extra.className = "thumb-detail";
    extra.textContent = detail;
    wrapper.append(extra);
  }
  container.append(wrapper);
  return input;
}

/** Writes `text` into `element` with a line-break chance after each "_" and "-". */
function breakableText(element, text) {
  const parts = String(text).split(/(?<=[_-])/);
  parts.forEach((part, i) => {
    if (i > 0) element.append(document.createElement("wbr"));
    element.append(part);
  });
}

/**
 * Points an <img> at an API URL. With an API key the image is fetched with the key's
 * header (an <img> cannot send one) and shown from a blob.
 */
async function setImageSource(img, url) {
  if (!state.apiKey) {
    img.src = url;
    return;
  }
  try {
    const blob = await (await request(url)).blob();
    img.src = URL.createObjectURL(blob);
    img.addEventListener("load", () => URL.revokeObjectURL(img.src), {once: true});
  } catch {
    img.alt = `${img.alt} (could not be loaded)`;
  }
}

/** Makes a file or sample name readable: "p2_walking" -> "p2 walking". */
function readable(name) {
  return String(name).replace(/\.[a-z0-9]+$/i, "").replace(/[_-]+/g, " ").trim();
}

/** A name fit for a file name: "Blue shirt (M)" -> "Blue_shirt_M". */
function fileSafe(name) {
  const safe = String(name).trim().replace(/\.[a-z0-9]{2,4}$/i, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[_.]+|_+$/g, "");
  return safe.slice(0, 80) || "photo";
}

const CATEGORY_NAMES = {upper: "Top", lower: "Bottom", overall: "Dress / overall"};

/** Whether the browser can show `blob` as a picture (false for a CSV named .jpg). */
async function isPicture(blob) {
  if (!ACCEPTED.includes(blob.type)) return false;
  try {
    const bitmap = await createImageBitmap(blob);
    bitmap.close();
    return true;
  } catch {
    return false;
  }
}

/** Refuses a chosen file that is not a JPEG, PNG or WebP photo; true when refused. */
async function refuseNonPhoto(input, what) {
  const file = input.files[0];
  if (!file || (await isPicture(file))) return false;
  input.value = "";
  showMessage(`“${file.name}” is not a photo this page can send: choose a JPEG, PNG or WebP ${what}.`);
  return true;
}

function setPerson(blob, label, stem) {
  state.person = {blob, label, stem: fileSafe(stem)};
  forgetArea();
  if (state.urls.original) URL.revokeObjectURL(state.urls.original);
  state.urls.original = URL.createObjectURL(blob);
  const img = $("original-image");
  img.onerror = () => {
    img.hidden = true;
    $("result-caption").textContent = `${label}: the browser cannot show this photo`;
  };
  img.onload = () => {
    img.hidden = false;
    $("stage-box").hidden = false;
    $("result-placeholder").hidden = true;
    $("viewer-controls").hidden = false;
    if (!state.result) $("result-caption").textContent = `Photo: ${label}`;
  };
  img.alt = `The person photo: ${label}`;
  img.src = state.urls.original;
  clearResult();
  $("person-chosen").textContent = `Person: ${label}`;
  updateAreaButton();
}

async function loadSamples() {
  let people = [];
  try {
    const body = await (await request("/v1/samples")).json();
    people = Array.isArray(body.people) ? body.people : [];
  } catch {
    return; // Samples are a convenience; the upload works without them.
  }
  state.samples = people;
  if (people.length === 0) return;
  const list = $("samples-list");
  list.replaceChildren();
  for (const sample of people) {
    const label = readable(sample.name);
    const input = thumbChoice(list, {
      group: "sample",
      value: sample.name,
      label,
      src: sample.url,
      alt: `Sample person: ${label}`,
    });
    input.addEventListener("change", () => pickSample(sample).catch(showError));
  }
  $("samples-fieldset").hidden = false;
}

/** Chooses a sample person (fetched from the server). */
async function pickSample(sample) {
  clearMessage();
  $("person-file").value = "";
  const radio = document.querySelector(`input[name="sample"][value="${CSS.escape(sample.name)}"]`);
  if (radio) radio.checked = true;
  const blob = await (await request(sample.url)).blob();
  setPerson(blob, `sample ${readable(sample.name)}`, sample.name);
}

async function onPersonFile() {
  const input = $("person-file");
  const file = input.files[0];
  if (!file) return;
  clearMessage();
  if (await refuseNonPhoto(input, "photo of a person")) return;
  for (const radio of document.querySelectorAll('input[name="sample"]')) radio.checked = false;
  setPerson(file, file.name, file.name);
}

/** How a garment is called on the page: its catalogue name. */
function garmentName(garment) {
  const name = String(garment.name || "").trim();
  return name || `Garment ${garment.id.slice(0, 8)}`;
}

function renderGarments(garments, selectId) {
  state.garments = garments;
  const list = $("garments-list");
  list.replaceChildren();
  if (garments.length === 0) {
    const empty = document.createElement("p");
    empty.className = "hint";
    empty.textContent = "The catalog is empty. Add a garment photo below.";
    list.append(empty);
    return;
  }
  for (const garment of garments) {
    const name = garmentName(garment);
    const kind = CATEGORY_NAMES[garment.category] || garment.category;
    const input = thumbChoice(list, {
      group: "garment",
      value: garment.id,
      label: name,
      detail: kind,
      src: garment.photo_url,
      alt: `Garment: ${name} (${kind})`,
      type: "checkbox",
    });
    input.dataset.name = name;
    input.addEventListener("change", () => toggleGarment(garment, input.checked));
  }
  // Keep what is still in the catalog; a garment just added joins the outfit.
  setOutfit(state.outfit.filter((g) => garments.some((c) => c.id === g.id)));
  const added = garments.find((g) => g.id === selectId);
  if (added && !state.outfit.some((g) => g.id === selectId)) toggleGarment(added, true);
}

/** The chosen garments as one name: "Blue shirt + Jeans". */
function outfitName() {
  return state.outfit.map((g) => g.name).join(" + ");
}

/** Whether `a` and `b` can be worn together: a top and a bottom (a dress is worn alone). */
function goTogether(a, b) {
  const kinds = [a.category, b.category];
  return a.category !== b.category && !kinds.includes("overall");
}

/**
 * Adds a garment to the outfit (dropping any it cannot be worn with: another top, another
 * bottom, or anything beside a dress) or takes it out.
 */
function toggleGarment(garment, on) {
  clearMessage();
  const chosen = {id: garment.id, name: garmentName(garment), category: garment.category};
  const others = state.outfit.filter((g) => g.id !== garment.id);
  setOutfit(on ? [...others.filter((g) => goTogether(g, chosen)), chosen] : others);
}

/** Chooses one garment alone (an example pair). */
function selectGarment(id, name) {
  clearMessage();
  const garment = state.garments.find((g) => g.id === id);
  setOutfit([{id, name, category: garment ? garment.category : "auto"}]);
}

/** Shows `outfit` as the chosen garments: the ticks, the line below, the category. */
function setOutfit(outfit) {
  const before = state.outfit.map((g) => g.id).join(",");
  // The bottom first, then the top: the order the server puts them on.
  const order = {lower: 0, overall: 1, upper: 2};
  state.outfit = [...outfit].sort((a, b) => (order[a.category] ?? 3) - (order[b.category] ?? 3));
  if (state.outfit.map((g) => g.id).join(",") !== before) forgetArea();
  for (const input of document.querySelectorAll('input[name="garment"]')) {
    input.checked = state.outfit.some((g) => g.id === input.value);
  }
  const count = state.outfit.length;
  $("garment-chosen").textContent = count === 0 ? "No garment chosen yet."
    : count === 1 ? `Garment: ${outfitName()}` : `Outfit: ${outfitName()}`;
  // An outfit's garments go on as catalogued: the category menu is for one garment.
  const category = $("category");
  category.disabled = count > 1;
  if (count > 1) category.value = "auto";
  $("category-note").hidden = count < 2;
  updateAreaButton();
}

async function loadGarments(selectId = null) {
  try {
    const body = await (await request("/v1/garments")).json();
    renderGarments(Array.isArray(body.garments) ? body.garments : [], selectId);
  } catch (error) {
    const list = $("garments-list");
    list.replaceChildren();
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = `The catalog could not be loaded: ${error.message}`;
    list.append(note);
  }
}

async function addGarment() {
  const input = $("garment-file");
  const file = input.files[0];
  clearMessage();
  if (!file) {
    showMessage("Choose a garment photo to add first.");
    input.focus();
    return;
  }
  if (await refuseNonPhoto(input, "garment photo")) return;
  const form = new FormData();
  form.append("photo", file);
  form.append("category", $("garment-category").value);
  // Without a name of its own, the garment is named after its file ("shirts_2_front").
  const name = $("garment-name").value.trim() || file.name.replace(/\.[a-z0-9]+$/i, "");
  if (name) form.append("name", name);
  const button = $("garment-add");
  button.disabled = true;
  button.textContent = "Adding…";
  try {
    const garment = await (await request("/v1/garments", {method: "POST", body: form})).json();
    await loadGarments(garment.id);
    renderExamples();
    input.value = "";
    $("garment-name").value = "";
    $("garment-upload").open = false;
    showMessage(`Added “${garmentName(garment)}” to the catalog and chose it.`, "info");
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    button.textContent = "Add to catalog";
  }
}

// ---------------------------------------------------------------- examples

/**
 * Up to four one-click pairs: each catalogue garment (newest first) on a sample person,
 * the people taken in turn; bottoms and dresses go on people photographed full length
 * (a "selfie" shows head to hips only).
 */
function examplePairs() {
  const people = state.samples;
  const garments = [...state.garments].reverse().slice(0, 4);
  if (!people.length || !garments.length) return [];
  const fullLength = people.filter((p) => !/selfie/i.test(p.name));
  return garments.map((garment, i) => {
    const pool = garment.category === "upper" || !fullLength.length ? people : fullLength;
    return {person: pool[i % pool.length], garment};
  });
}

function renderExamples() {
  const pairs = examplePairs();
  const list = $("examples-list");
  list.replaceChildren();
  for (const pair of pairs) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    const who = readable(pair.person.name);
    const what = garmentName(pair.garment);
    button.setAttribute("aria-label", `Try ${what} on ${who}`);
    for (const [src, alt] of [[pair.person.url, who], [pair.garment.photo_url, what]]) {
      const img = document.createElement("img");
      setImageSource(img, src);
      img.alt = "";
      img.dataset.role = alt;
      button.append(img);
    }
    const caption = document.createElement("span");
    caption.className = "example-label";
    caption.textContent = `${what} on ${who}`;
    button.append(caption);
    button.addEventListener("click", () => tryExample(pair));
    list.append(button);
  }
  $("examples").hidden = pairs.length === 0;
}

/** Chooses the pair and tries it on at once (the fast engine, whatever was chosen). */
async function tryExample(pair) {
  if (state.busy) return;
  try {
    await pickSample(pair.person);
    selectGarment(pair.garment.id, garmentName(pair.garment));
    $("category").value = "auto";
    const warp = state.engines.get("warp");
    if (warp && warp.available) {
      $("engine").value = "warp";
      onEngineChange();
    }
    $("result-section").scrollIntoView({block: "start", behavior: "smooth"});
    await onTryOn();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------- engines

/** How an engine is shown to shoppers. */
const ENGINE_LABELS = {
  warp: "Fast preview (warp)",
  catvton: "Photo-real (CatVTON diffusion)",
  hybrid: "Fast + retouched (hybrid)",
  fashn: "Photo-real (FASHN diffusion)",
};

async function loadEngines() {
  let engines = [];
  try {
    const body = await (await request("/v1/engines")).json();
    engines = Array.isArray(body.engines) ? body.engines : [];
  } catch (error) {
    const item = document.createElement("li");
    item.textContent = `Engines could not be listed: ${error.message}`;
    $("engine-note").replaceChildren(item);
    return;
  }
  if (engines.length === 0) return;
  const select = $("engine");
  select.replaceChildren();
  state.engines.clear();
  for (const engine of engines) {
    state.engines.set(engine.name, engine);
    const option = document.createElement("option");
    option.value = engine.name;
    const label = ENGINE_LABELS[engine.name] || engine.name;
    // Why an engine is missing (weights, flags) is for operators: GET /v1/engines says it.
    option.textContent = engine.available ? label : `${label}: not available on this server`;
    option.disabled = !engine.available;
    select.append(option);
  }
  const first = engines.find((e) => e.available);
  if (first) select.value = first.name;
  onEngineChange();
}

function onEngineChange() {
  const engine = state.engines.get($("engine").value);
  const notes = [];
  const asJob = $("as-job");
  if (engine && engine.mode === "job") {
    asJob.checked = true;
    asJob.disabled = true;
    notes.push("Runs in the background and shows its progress, step by step.");
  } else {
    asJob.disabled = false;
  }
  // Who may use the result: a shop needs to know before it shows it to shoppers.
  if (engine && engine.licence) notes.push(`Model licence: ${engine.licence}.`);
  const missing = [...state.engines.values()].filter((e) => !e.available);
  if (missing.length) {
    const names = missing.map((e) => ENGINE_LABELS[e.name] || e.name).join("; ");
    notes.push(`Not available on this server: ${names}.`);
  }
  const list = $("engine-note");
  list.replaceChildren();
  for (const note of notes) {
    const item = document.createElement("li");
    item.textContent = note;
    list.append(item);
  }
  showDiffusionOptions(engine);
  updateAreaButton();
}

// ---------------------------------------------------------------- diffusion settings

/** Whether `engine` (from GET /v1/engines) samples with presets: a diffusion engine. */
function hasPresets(engine) {
  return Boolean(engine && engine.available && Array.isArray(engine.presets) && engine.presets.length);
}

/**
 * Shows the preset, steps and seed of a diffusion engine (hidden for the others; the
 * steps view is a warp try-on's). The first choice is the server's own preset.
 */
function showDiffusionOptions(engine) {
  const diffusion = hasPresets(engine);
  $("diffusion-options").hidden = !diffusion;
  $("show-steps-label").hidden = diffusion;
  if (!diffusion) return;
  const select = $("preset");
  const before = select.dataset.engine === engine.name ? select.value : "";
  select.replaceChildren();
  const fallback = engine.default_preset;
  if (fallback) {
    const option = new Option(`Server default: ${fallback.name}, ${fallback.steps} steps`, "");
    select.append(option);
  }
  for (const preset of engine.presets) {
    select.append(new Option(`${preset.name}: ${preset.steps} steps`, preset.name));
  }
  select.dataset.engine = engine.name;
  select.value = [...select.options].some((o) => o.value === before) ? before : select.options[0].value;
  showPresetValues();
}

/** The chosen preset (the server's default when none is chosen). */
function chosenPreset() {
  const engine = state.engines.get($("engine").value);
  if (!hasPresets(engine)) return null;
  const name = $("preset").value;
  return engine.presets.find((p) => p.name === name) || engine.default_preset || engine.presets[0];
}

/** Puts the chosen preset's steps and seed in the empty fields' placeholders. */
function showPresetValues() {
  const preset = chosenPreset();
  if (!preset) return;
  $("diffusion-steps").placeholder = `${preset.steps}`;
  $("seed").placeholder = `${preset.seed}`;
}

/** What is wrong with the steps or seed typed ({field, text}), or null. */
function diffusionProblem() {
  if ($("diffusion-options").hidden) return null;
  const steps = $("diffusion-steps").value.trim();
  if (steps && !(/^[0-9]+$/.test(steps) && Number(steps) >= 1 && Number(steps) <= 100)) {
    return {field: "diffusion-steps", text: "Steps: type a whole number from 1 to 100, or leave it empty for the preset's."};
  }
  const seed = $("seed").value.trim();
  if (seed && !(/^[0-9]+$/.test(seed) && BigInt(seed) <= 2n ** 63n - 1n)) {
    return {field: "seed", text: "Seed: type a whole number from 0 to 9223372036854775807, or leave it empty for the preset's."};
  }
  return null;
}

/** The diffusion fields to send ({preset, steps, seed}, those given), or null. */
function diffusionChoice() {
  if ($("diffusion-options").hidden) return null;
  const fields = {};
  if ($("preset").value) fields.preset = $("preset").value;
  const steps = $("diffusion-steps").value.trim();
  if (steps) fields.steps = String(Number(steps));
  const seed = $("seed").value.trim();
  if (seed) fields.seed = BigInt(seed).toString();
  return fields;
}

// ---------------------------------------------------------------- results

function parseHeaderJson(response, name, fallback) {
  const raw = response.headers.get(name);
  if (!raw) return fallback;
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function formatSeconds(seconds) {
  return seconds >= 1 ? `${seconds.toFixed(2)} s` : `${Math.round(seconds * 1000)} ms`;
}

function renderTimings(timings, roundTrip) {
  const list = $("timings");
  list.replaceChildren();
  const entries = Object.entries(timings || {}).filter(([, v]) => typeof v === "number");
  if (roundTrip !== null) entries.push(["round trip", roundTrip]);
  for (const [stage, seconds] of entries) {
    const item = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = readable(stage);
    const dd = document.createElement("dd");
    dd.textContent = formatSeconds(seconds);
    item.append(dt, dd);
    list.append(item);
  }
  $("timings-box").hidden = entries.length === 0;
  if (roundTrip !== null) {
    $("timings-box").querySelector("summary").textContent = `Timings (${formatSeconds(roundTrip)})`;
  }
}

function renderWarnings(warnings) {
  const list = $("warnings");
  list.replaceChildren();
  for (const warning of Array.isArray(warnings) ? warnings : []) {
    const item = document.createElement("li");
    item.textContent = String(warning);
    list.append(item);
  }
  list.hidden = list.children.length === 0;
}

function renderSteps(steps) {
  const box = $("steps");
  const list = $("steps-list");
  list.replaceChildren();
  for (const step of Array.isArray(steps) ? steps : []) {
    const figure = document.createElement("figure");
    const img = document.createElement("img");
    img.src = step.image;
    img.alt = `Intermediate step: ${readable(step.name)}`;
    img.loading = "lazy";
    const caption = document.createElement("figcaption");
    caption.textContent = readable(step.name);
    figure.append(img, caption);
    list.append(figure);
  }
  box.hidden = list.children.length === 0;
}

/** Drops the result shown (a new person, or a new try-on started). */
function clearResult(placeholder = null) {
  const img = $("result-image");
  img.hidden = true;
  img.removeAttribute("src");
  if (state.urls.result) URL.revokeObjectURL(state.urls.result);
  state.urls.result = null;
  state.result = null;
  $("download").hidden = true;
  $("download").removeAttribute("href");
  viewer.setComparing(false);
  if (placeholder !== null && !state.person) {
    $("result-placeholder").hidden = false;
    $("result-placeholder").textContent = placeholder;
  }
  $("result-caption").textContent = state.person ? `Photo: ${state.person.label}` : "";
  renderTimings({}, null);
  renderWarnings([]);
  renderSteps([]);
}

/**
 * The download's name: person and garments, e.g. "p1_studio+shirts_1_front.jpg" or
 * "p1_studio+pants_1_front+shirts_1_front.jpg".
 */
function downloadName(blob) {
  const ext = EXTENSIONS[blob.type] || "img";
  const garments = state.outfit.length ? state.outfit.map((g) => fileSafe(g.name)) : ["garment"];
  return `${state.person ? state.person.stem : "person"}+${garments.join("+")}.${ext}`;
}

/** Shows a finished try-on (`blob`: the image as the server sent it). */
function showResult({blob, category, outfit, timings, warnings, steps, roundTrip}) {
  if (state.urls.result) URL.revokeObjectURL(state.urls.result);
  const url = URL.createObjectURL(blob);
  state.urls.result = url;
  state.result = {blob, name: downloadName(blob)};
  const img = $("result-image");
  const garment = state.outfit.length ? outfitName() : "the garment";
  img.alt = `The person wearing ${garment}`;
  img.onload = () => {
    img.hidden = false;
    $("result-placeholder").hidden = true;
    const kinds = Array.isArray(outfit) && outfit.length > 1 ? outfit : [category].filter(Boolean);
    const named = kinds.map((k) => CATEGORY_NAMES[k] || k).join(" + ");
    const kind = named ? ` (${named})` : "";
    $("result-caption").textContent =
      `${garment}${kind} on ${state.person.label}, ${img.naturalWidth} × ${img.naturalHeight}. ` +
      "Drag across the picture to compare; double-click to zoom.";
    viewer.reset();
    viewer.setComparing(true);
  };
  img.onerror = () => {
    $("result-caption").textContent =
      "The result arrived but this browser cannot show its format; choose PNG or JPEG under More options.";
  };
  img.src = url;
  const link = $("download");
  link.href = url;
  link.download = state.result.name;
  link.title = `Save as ${state.result.name}`;
  link.hidden = false;
  renderTimings(timings, roundTrip);
  renderWarnings(warnings);
  renderSteps(steps);
  $("result-section").focus({preventScroll: true});
}

// ---------------------------------------------------------------- try-on

async function tryonForm() {
  const form = new FormData();
  form.append("person", state.person.blob, state.person.blob.name || "person");
  if (state.outfit.length > 1) {
    // An outfit: each garment as catalogued (its category), in one request.
    for (const garment of state.outfit) form.append("garment_ids", garment.id);
  } else {
    form.append("garment_id", state.outfit[0].id);
    form.append("category", $("category").value);
  }
  form.append("engine", $("engine").value);
  const format = $("format").value;
  if (format) form.append("format", format);
  const diffusion = diffusionChoice();
  if (diffusion) {
    // A diffusion job's own settings; what is left empty is the preset's.
    for (const [name, value] of Object.entries(diffusion)) form.append(name, value);
  } else if ($("show-steps").checked) {
    form.append("steps", "true");
  }
  if (areaInUse()) form.append("mask", await editor.toBlob(), "mask.png");
  return form;
}

/** A data: URI as a Blob (the steps view sends the image inside JSON). */
async function blobOf(dataUri) {
  return (await fetch(dataUri)).blob();
}

async function runSync(form, started) {
  const response = await request("/v1/tryon", {method: "POST", body: form});
  const roundTrip = (performance.now() - started) / 1000;
  if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
    const body = await response.json();
    showResult({
      blob: await blobOf(body.image),
      category: body.category,
      outfit: body.outfit,
      timings: body.timings,
      warnings: body.warnings,
      steps: body.steps,
      roundTrip,
    });
    return;
  }
  showResult({
    blob: await response.blob(),
    category: response.headers.get("X-Tryon-Category"),
    outfit: parseHeaderJson(response, "X-Tryon-Outfit", null),
    timings: parseHeaderJson(response, "X-Tryon-Timings", {}),
    warnings: parseHeaderJson(response, "X-Tryon-Warnings", []),
    steps: [],
    roundTrip,
  });
}

/** The queue position as a sentence (1 is the next job to start). */
function queuedText(position) {
  if (!Number.isInteger(position) || position < 1) return "Queued.";
  if (position === 1) return "Queued: next to start.";
  return `Queued: position ${position} (${position - 1} ahead).`;
}

function setJobStatus(text, step = null, total = null) {
  $("job-status").textContent = text;
  const bar = $("job-progress");
  if (step === null || !total) {
    bar.removeAttribute("value"); // indeterminate
  } else {
    bar.max = total;
    bar.value = step;
  }
}

/** "Step 3 of 16, about 12 s left" from the steps done since the job started running. */
function progressText(job, step, total) {
  const now = performance.now();
  if (job.firstStep === undefined && step > 0) job.firstStep = {step, at: now};
  let left = "";
  const first = job.firstStep;
  if (first && step > first.step && total > step) {
    const perStep = (now - first.at) / 1000 / (step - first.step);
    left = `, about ${formatSeconds(perStep * (total - step))} left`;
  }
  return `Running: step ${step} of ${total}${left}.`;
}

function endJob() {
  if (state.job && state.job.source) state.job.source.close();
  state.job = null;
  $("job-cancel").hidden = true;
  setBusy(false);
}

/** Fetches a finished job's image and shows it. */
async function finishJob(resultUrl, started) {
  $("job-cancel").hidden = true;
  try {
    const response = await request(resultUrl);
    const blob = await response.blob();
    setJobStatus("Done.", 1, 1);
    showResult({
      blob,
      category: response.headers.get("X-Tryon-Category"),
      timings: parseHeaderJson(response, "X-Tryon-Timings", {}),
      warnings: parseHeaderJson(response, "X-Tryon-Warnings", []),
      steps: [],
      roundTrip: (performance.now() - started) / 1000,
    });
  } catch (error) {
    showError(error);
  } finally {
    endJob();
  }
}

function failJob(text) {
  setJobStatus("Failed.");
  showMessage(text);
  endJob();
}

function parseEventData(event) {
  try {
    return JSON.parse(event.data || "{}") || {};
  } catch {
    return {};
  }
}

/** Follows a job's state by polling, when the event stream is lost. */
async function pollJob(job, started) {
  while (state.job === job) {
    let body;
    try {
      body = await (await request(job.url)).json();
    } catch (error) {
      failJob(error.message);
      return;
    }
    if (state.job !== job) return;
    if (body.status === "done") return finishJob(body.result_url || job.resultUrl, started);
    if (body.status === "failed") {
      return failJob((body.error && body.error.message) || "The job failed.");
    }
    if (body.status === "cancelled") {
      setJobStatus("Cancelled.");
      return endJob();
    }
    const progress = body.progress || {};
    if (body.status === "queued") setJobStatus(queuedText(body.position));
    else setJobStatus(progressText(job, progress.step ?? 0, progress.total ?? "?"),
      progress.step ?? null, progress.total ?? null);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function runJob(form, started) {
  const response = await request("/v1/jobs", {method: "POST", body: form});
  const created = await response.json();
  const job = {url: created.url, resultUrl: created.result_url, source: null};
  state.job = job;
  $("job").hidden = false;
  $("job-cancel").hidden = false;
  $("job-cancel").disabled = false;
  setJobStatus(queuedText(created.position));

  if (state.apiKey) {
    // EventSource cannot send the key's header: follow the job by polling instead.
    pollJob(job, started);
    return;
  }
  const source = new EventSource(created.events_url);
  job.source = source;
  source.addEventListener("queued", (e) => {
    const data = parseEventData(e);
    setJobStatus(queuedText(data.position));
  });
  source.addEventListener("started", () => setJobStatus("Running…"));
  source.addEventListener("progress", (e) => {
    const {step, total} = parseEventData(e);
    setJobStatus(progressText(job, step, total), step, total);
  });
  source.addEventListener("done", (e) => {
    source.close();
    const data = parseEventData(e);
    finishJob(data.result_url || job.resultUrl, started);
  });
  source.addEventListener("error", (e) => {
    // Both the server's "error" event (with data) and a lost connection land here.
    source.close();
    if (state.job !== job) return;
    if (e.data) {
      const data = parseEventData(e);
      failJob(data.message || "The job failed.");
    } else {
      pollJob(job, started);
    }
  });
  source.addEventListener("cancelled", () => {
    setJobStatus("Cancelled.");
    endJob();
  });
}

async function cancelJob() {
  const job = state.job;
  if (!job) return;
  $("job-cancel").disabled = true;
  try {
    await request(job.url, {method: "DELETE"});
    setJobStatus("Cancelled.");
  } catch (error) {
    showError(error);
  } finally {
    if (state.job === job) endJob();
  }
}

async function onTryOn(event = null) {
  if (event) event.preventDefault();
  if (state.busy) return;
  clearMessage();
  if (!state.person) {
    showMessage("Choose a person photo first: upload one or pick a sample.");
    $("person-file").focus();
    return;
  }
  if (!state.outfit.length) {
    showMessage("Choose a garment first: pick one from the catalog (or a top and a bottom), or add a photo.");
    return;
  }
  if (state.outfit.length > 1 && state.engines.get($("engine").value)?.mode === "job") {
    showMessage("An outfit is tried on with the fast engine; choose it, or one garment.");
    return;
  }
  const problem = diffusionProblem();
  if (problem) {
    showMessage(problem.text);
    $(problem.field).focus();
    return;
  }
  if (state.editing) stopEditing();
  const engine = state.engines.get($("engine").value);
  const asJob = $("as-job").checked || (engine && engine.mode === "job");
  const started = performance.now();
  setBusy(true, asJob ? "Running…" : "Dressing…");
  clearResult();
  $("result-caption").textContent = "Working on it…";
  $("job").hidden = !asJob;
  try {
    const form = await tryonForm();
    if (asJob) {
      await runJob(form, started);
    } else {
      await runSync(form, started);
      setBusy(false);
    }
  } catch (error) {
    $("result-caption").textContent = "No result.";
    showError(error);
    if (asJob) {
      setJobStatus("Not started.");
      endJob();
    } else {
      setBusy(false);
    }
  }
}

// ---------------------------------------------------------------- try-on area

/** What the loaded area belongs to: the person, garment and category. */
function areaKey() {
  if (!state.person || state.outfit.length !== 1) return null;
  return `${state.person.label}|${state.outfit[0].id}|${$("category").value}`;
}

/** Whether the next try-on sends the edited area (a sync warp try-on of the same pair;
 * an outfit's area is found per garment by the server). */
function areaInUse() {
  const engine = $("engine").value;
  return Boolean(state.area && state.area.key === areaKey() && editor.edited && engine === "warp" &&
    !$("as-job").checked);
}

/** Forgets an edited area (another person, garment or category). */
function forgetArea() {
  if (state.editing) stopEditing();
  state.area = null;
  editor.mask = null;
  updateAreaStatus();
}

function updateAreaButton() {
  const button = $("mask-edit");
  const engine = $("engine").value;
  const one = state.outfit.length === 1;
  button.hidden = !(state.person && one && engine === "warp" && !$("as-job").checked);
  button.setAttribute("aria-pressed", String(state.editing));
}

function updateAreaStatus() {
  const status = $("mask-status");
  if (!state.area || !editor.mask) {
    status.textContent = "";
    return;
  }
  const share = Math.round(editor.share * 100);
  const edited = editor.edited ? "edited" : "as found";
  status.textContent = `Area: ${share}% of the photo, ${edited}.`;
  $("mask-undo").disabled = editor.history.length === 0;
  $("mask-done").disabled = editor.empty;
}

/** Fetches the area the try-on would change (the agnostic mask) from the server. */
async function loadArea() {
  const form = new FormData();
  form.append("person", state.person.blob, state.person.blob.name || "person");
  form.append("garment_id", state.outfit[0].id);
  form.append("category", $("category").value);
  const blob = await (await request("/v1/mask", {method: "POST", body: form})).blob();
  const img = $("original-image");
  const mask = await maskFromBlob(blob, img.naturalWidth, img.naturalHeight);
  editor.load(mask, img.naturalWidth, img.naturalHeight);
  state.area = {key: areaKey()};
}

async function startEditing() {
  if (!state.person || state.outfit.length !== 1) return;
  clearMessage();
  const button = $("mask-edit");
  button.disabled = true;
  try {
    if (!state.area || state.area.key !== areaKey()) await loadArea();
  } catch (error) {
    showError(error);
    return;
  } finally {
    button.disabled = false;
  }
  state.editing = true;
  viewer.paintHandler = paintHandler;
  viewer.apply();
  $("mask-canvas").hidden = false;
  $("mask-tools").hidden = false;
  $("mask-edit-hint").hidden = false;
  $("stage-box").classList.add("editing");
  button.textContent = "Stop editing";
  updateAreaButton();
  updateAreaStatus();
}

function stopEditing() {
  state.editing = false;
  viewer.paintHandler = null;
  viewer.apply();
  $("mask-canvas").hidden = true;
  $("mask-tools").hidden = true;
  $("mask-edit-hint").hidden = true;
  $("stage-box").classList.remove("editing");
  $("mask-edit").textContent = editor.edited ? "Edit the try-on area (edited)" : "Edit the try-on area";
  updateAreaButton();
}

/** Asks the server for the region around a click (an edge-aware cut). */
async function selectRegion(x, y, maskBlob) {
  const form = new FormData();
  form.append("person", state.person.blob, state.person.blob.name || "person");
  form.append("mask", maskBlob, "mask.png");
  form.append("x", String(x));
  form.append("y", String(y));
  try {
    const blob = await (await request("/v1/mask/select", {method: "POST", body: form})).blob();
    return await maskFromBlob(blob, editor.width, editor.height);
  } catch (error) {
    showError(error);
    return null;
  }
}

/** The viewer's pointer events while editing, in photo pixels. */
const paintHandler = {
  point(event) {
    return viewer.photoPoint(event, editor.width, editor.height);
  },
  down(event) {
    editor.radius = (Number($("brush-size").value) / 2) * viewer.photoScale(editor.width);
    const [x, y] = this.point(event);
    editor.down(x, y);
  },
  move(event) {
    const [x, y] = this.point(event);
    editor.move(x, y);
  },
  up() {
    editor.up();
  },
};

// ---------------------------------------------------------------- start

const viewer = new Viewer({
  box: $("stage-box"),
  after: $("after-layer"),
  divider: $("divider"),
  slider: $("compare-slider"),
  compare: $("compare-label"),
  zoomIn: $("zoom-in"),
  zoomOut: $("zoom-out"),
  zoomFit: $("zoom-fit"),
  zoomLevel: $("zoom-level"),
});

const editor = new MaskEditor($("mask-canvas"), {
  select: selectRegion,
  changed: updateAreaStatus,
  busy: (text) => {
    $("stage-box").classList.toggle("waiting", Boolean(text));
    if (text) $("mask-status").textContent = text;
  },
});

function onApiKeyChange() {
  state.apiKey = $("api-key").value.trim();
  if (state.apiKey) sessionStorage.setItem("tryon-api-key", state.apiKey);
  else sessionStorage.removeItem("tryon-api-key");
  clearMessage();
  loadAll();
}

async function loadAll() {
  await Promise.all([loadEngines(), loadSamples(), loadGarments()]);
  renderExamples();
}

function wireAreaTools() {
  $("mask-edit").addEventListener("click", () => (state.editing ? stopEditing() : startEditing()));
  for (const radio of document.querySelectorAll('input[name="mask-tool"]')) {
    radio.addEventListener("change", () => {
      editor.tool = radio.value;
      $("stage-box").dataset.tool = radio.value;
    });
  }
  const size = $("brush-size");
  size.addEventListener("input", () => ($("brush-size-value").value = `${size.value} px`));
  $("mask-grow").addEventListener("click", () => editor.grow(1));
  $("mask-shrink").addEventListener("click", () => editor.grow(-1));
  $("mask-undo").addEventListener("click", () => editor.undo());
  $("mask-reset").addEventListener("click", () => editor.reset());
  $("mask-done").addEventListener("click", () => onTryOn());
  $("category").addEventListener("change", forgetArea);
  $("as-job").addEventListener("change", updateAreaButton);
}

function start() {
  $("api-key").value = state.apiKey;
  $("api-key").addEventListener("change", onApiKeyChange);
  $("person-file").addEventListener("change", () => onPersonFile().catch(showError));
  $("garment-file").addEventListener("change", () => {
    clearMessage();
    refuseNonPhoto($("garment-file"), "garment photo");
  });
  $("garment-add").addEventListener("click", addGarment);
  $("engine").addEventListener("change", onEngineChange);
  $("preset").addEventListener("change", showPresetValues);
  $("job-cancel").addEventListener("click", cancelJob);
  $("tryon-form").addEventListener("submit", onTryOn);
  $("job-cancel").hidden = true;
  $("stage-box").dataset.tool = "brush";
  wireAreaTools();
  loadAll();
}

start();
