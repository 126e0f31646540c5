// The try-on web page: pick a person and a garment, send them to the HTTP API,
// show the result beside the original. Plain browser JavaScript, no build step,
// no third-party code; it speaks only to the same server (the /v1 API).

const $ = (id) => document.getElementById(id);

/** What the shopper has chosen so far. */
const state = {
  person: null, // {blob: Blob, label: string}
  garment: null, // {id: string, name: string}
  engines: new Map(), // name -> {name, mode, available, reason}
  busy: false,
  job: null, // {url, source} while a job runs
  urls: {original: null, result: null}, // object URLs to revoke when replaced
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

/** A radio button shown as a thumbnail; returns the <input>. */
function thumbChoice(container, {group, value, label, detail = "", src, alt}) {
  const wrapper = document.createElement("label");
  wrapper.className = "thumb";
  const input = document.createElement("input");
  input.type = "radio";
  input.name = group;
  input.value = value;
  const img = document.createElement("img");
  setImageSource(img, src);
  img.alt = alt;
  img.decoding = "async";
  const caption = document.createElement("span");
  caption.className = "thumb-label";
  caption.textContent = label;
  caption.title = label;
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

/** Ends a text with a full stop unless it has one. */
function sentence(text) {
  const trimmed = String(text).trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** Makes a file or sample name readable: "shirts_2_front" -> "shirts 2 front". */
function readable(name) {
  return String(name).replace(/\.[a-z0-9]+$/i, "").replace(/[_-]+/g, " ").trim();
}

function setPerson(blob, label) {
  state.person = {blob, label};
  if (state.urls.original) URL.revokeObjectURL(state.urls.original);
  state.urls.original = URL.createObjectURL(blob);
  const img = $("original-image");
  img.onerror = () => {
    img.hidden = true;
    $("original-caption").textContent = `Original: ${label} (no preview: the browser cannot show this file)`;
  };
  img.onload = () => {
    img.hidden = false;
    $("original-caption").textContent =
      `Original: ${label}, ${img.naturalWidth} × ${img.naturalHeight}`;
  };
  img.alt = `The person photo: ${label}`;
  img.src = state.urls.original;
  $("person-chosen").textContent = `Person: ${label}`;
}

async function loadSamples() {
  let people = [];
  try {
    const body = await (await request("/v1/samples")).json();
    people = Array.isArray(body.people) ? body.people : [];
  } catch {
    return; // Samples are a convenience; the upload works without them.
  }
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
    input.addEventListener("change", async () => {
      clearMessage();
      $("person-file").value = "";
      try {
        const blob = await (await request(sample.url)).blob();
        setPerson(blob, `sample ${label}`);
      } catch (error) {
        showError(error);
      }
    });
  }
  $("samples-fieldset").hidden = false;
}

function onPersonFile() {
  const file = $("person-file").files[0];
  if (!file) return;
  clearMessage();
  for (const radio of document.querySelectorAll('input[name="sample"]')) radio.checked = false;
  setPerson(file, file.name);
}

function renderGarments(garments, selectId) {
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
    const name = readable(garment.name || garment.id.slice(0, 8));
    const input = thumbChoice(list, {
      group: "garment",
      value: garment.id,
      label: name,
      detail: garment.category,
      src: garment.photo_url,
      alt: `Garment: ${name} (${garment.category})`,
    });
    input.dataset.name = name;
    input.addEventListener("change", () => selectGarment(garment.id, name));
    if (garment.id === selectId) {
      input.checked = true;
      selectGarment(garment.id, name);
    }
  }
}

function selectGarment(id, name) {
  clearMessage();
  state.garment = {id, name};
  $("garment-chosen").textContent = `Garment: ${name}`;
}

async function loadGarments(selectId = state.garment && state.garment.id) {
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
  const file = $("garment-file").files[0];
  clearMessage();
  if (!file) {
    showMessage("Choose a garment photo to add first.");
    $("garment-file").focus();
    return;
  }
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
    $("garment-file").value = "";
    $("garment-name").value = "";
    $("garment-upload").open = false;
    showMessage(`Added “${garment.name || garment.id.slice(0, 8)}” (${garment.category}) and selected it.`, "info");
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    button.textContent = "Add to catalog";
  }
}

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
    const mode = engine.mode === "job" ? " (background job)" : "";
    option.textContent = engine.available
      ? `${engine.name}${mode}`
      : `${engine.name}: unavailable`;
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
    notes.push(`${engine.name} runs as a background job with progress.`);
  } else {
    asJob.disabled = false;
  }
  for (const other of state.engines.values()) {
    if (!other.available) {
      notes.push(`${other.name} is unavailable: ${sentence(other.reason || "not configured on this server")}`);
    }
  }
  const list = $("engine-note");
  list.replaceChildren();
  for (const note of notes) {
    const item = document.createElement("li");
    item.textContent = note;
    list.append(item);
  }
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
  list.hidden = entries.length === 0;
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

function resetResult() {
  const img = $("result-image");
  img.hidden = true;
  img.removeAttribute("src");
  $("result-placeholder").hidden = false;
  $("result-placeholder").textContent = "Working on it…";
  $("result-caption").textContent = "Result";
  renderTimings({}, null);
  renderWarnings([]);
  renderSteps([]);
}

/** Shows a finished try-on; `src` is an object URL or a data: URL. */
function showResult({src, isObjectUrl, category, timings, warnings, steps, roundTrip}) {
  if (state.urls.result) URL.revokeObjectURL(state.urls.result);
  state.urls.result = isObjectUrl ? src : null;
  const img = $("result-image");
  const garment = state.garment ? state.garment.name : "the garment";
  img.alt = `The person wearing ${garment}`;
  img.onload = () => {
    img.hidden = false;
    $("result-placeholder").hidden = true;
    const kind = category ? `, ${category}` : "";
    $("result-caption").textContent =
      `Result: ${garment}${kind}, ${img.naturalWidth} × ${img.naturalHeight}`;
  };
  img.onerror = () => {
    $("result-placeholder").textContent =
      "The result arrived but this browser cannot show its format; choose PNG or JPEG under More options.";
  };
  img.src = src;
  renderTimings(timings, roundTrip);
  renderWarnings(warnings);
  renderSteps(steps);
  $("result-section").focus({preventScroll: true});
}

// ---------------------------------------------------------------- try-on

function tryonForm() {
  const form = new FormData();
  form.append("person", state.person.blob, state.person.blob.name || "person");
  form.append("garment_id", state.garment.id);
  form.append("category", $("category").value);
  form.append("engine", $("engine").value);
  const format = $("format").value;
  if (format) form.append("format", format);
  if ($("show-steps").checked) form.append("steps", "true");
  return form;
}

async function runSync(form, started) {
  const response = await request("/v1/tryon", {method: "POST", body: form});
  const roundTrip = (performance.now() - started) / 1000;
  if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
    const body = await response.json();
    showResult({
      src: body.image,
      isObjectUrl: false,
      category: body.category,
      timings: body.timings,
      warnings: body.warnings,
      steps: body.steps,
      roundTrip,
    });
    return;
  }
  const blob = await response.blob();
  showResult({
    src: URL.createObjectURL(blob),
    isObjectUrl: true,
    category: response.headers.get("X-Tryon-Category"),
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

function endJob() {
  if (state.job && state.job.source) state.job.source.close();
  state.job = null;
  $("job-cancel").disabled = true;
  setBusy(false);
}

/** Fetches a finished job's image and shows it. */
async function finishJob(resultUrl, started) {
  $("job-cancel").disabled = true;
  try {
    const response = await request(resultUrl);
    const blob = await response.blob();
    setJobStatus("Done.", 1, 1);
    showResult({
      src: URL.createObjectURL(blob),
      isObjectUrl: true,
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
  $("result-placeholder").textContent = "No result.";
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
    else setJobStatus(`Running: step ${progress.step ?? 0} of ${progress.total ?? "?"}.`,
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
    setJobStatus(`Running: step ${step} of ${total}.`, step, total);
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
    $("result-placeholder").textContent = "Cancelled.";
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
    $("result-placeholder").textContent = "Cancelled.";
  } catch (error) {
    showError(error);
  } finally {
    if (state.job === job) endJob();
  }
}

async function onTryOn(event) {
  event.preventDefault();
  if (state.busy) return;
  clearMessage();
  if (!state.person) {
    showMessage("Choose a person photo first: upload one or pick a sample.");
    $("person-file").focus();
    return;
  }
  if (!state.garment) {
    showMessage("Choose a garment first: pick one from the catalog or add a photo.");
    return;
  }
  const engine = state.engines.get($("engine").value);
  const asJob = $("as-job").checked || (engine && engine.mode === "job");
  const form = tryonForm();
  const started = performance.now();
  resetResult();
  $("job").hidden = !asJob;
  setBusy(true, asJob ? "Running…" : "Dressing…");
  try {
    if (asJob) {
      await runJob(form, started);
    } else {
      await runSync(form, started);
      setBusy(false);
    }
  } catch (error) {
    $("result-placeholder").textContent = "No result.";
    showError(error);
    if (asJob) {
      setJobStatus("Not started.");
      endJob();
    } else {
      setBusy(false);
    }
  }
}

// ---------------------------------------------------------------- start

function onApiKeyChange() {
  state.apiKey = $("api-key").value.trim();
  if (state.apiKey) sessionStorage.setItem("tryon-api-key", state.apiKey);
  else sessionStorage.removeItem("tryon-api-key");
  clearMessage();
  loadEngines();
  loadSamples();
  loadGarments();
}

function start() {
  $("api-key").value = state.apiKey;
  $("api-key").addEventListener("change", onApiKeyChange);
  $("person-file").addEventListener("change", onPersonFile);
  $("garment-add").addEventListener("click", addGarment);
  $("engine").addEventListener("change", onEngineChange);
  $("job-cancel").addEventListener("click", cancelJob);
  $("tryon-form").addEventListener("submit", onTryOn);
  loadEngines();
  loadSamples();
  loadGarments();
}

start();
