// The generate form, built from the catalog capabilities embedded in the page: it offers only the values the
// chosen model takes and applies the catalog's constraints (e.g. "1080p must be 8 s") as the user picks.
import { ApiError, json } from "./api.js";

const $ = (sel, root = document) => root.querySelector(sel);
const CHOICES = ["duration", "aspect_ratio", "resolution", "size"];
const ROLE_WORDS = { first_frame: "first frame", last_frame: "last frame", reference: "reference" };
const NOT_SENT = "";

function fmtSeconds(v) { return `${v} s`; }

function matches(value, allowed) {
  return allowed.some((a) => (typeof a === "number" && typeof value === "number" ? Math.abs(a - value) < 1e-6 : a === value));
}

function dataUri(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function humanBytes(n) {
  if (n >= 1048576) return `${(n / 1048576).toFixed(n % 1048576 ? 1 : 0)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

export class GenerateForm {
  constructor(capabilities, { onCreated }) {
    this.models = new Map(capabilities.models.map((m) => [m.id, m]));
    this.onCreated = onCreated;
    this.form = $("#generate-form");
    this.model = $("#model");
    this.prompt = $("#prompt");
    this.hd = $("#hd");
    this.characters = $("#characters");
    this.selects = Object.fromEntries(CHOICES.map((f) => [f, $(`#${f}`)]));
    this.imageRows = $("#image-rows");
    this.addImage = $("#add-image");
    this.status = $("#form-status");
    this.submit = $("#submit");
    this.model.addEventListener("change", () => this.modelChanged());
    for (const s of Object.values(this.selects)) s.addEventListener("change", () => this.refresh());
    this.hd.addEventListener("change", () => this.refresh());
    this.prompt.addEventListener("input", () => this.promptCount());
    this.addImage.addEventListener("click", () => { this.addImageRow(); this.refresh(); });
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.send(); });
    this.modelChanged();
  }

  get spec() { return this.models.get(this.model.value); }

  field(name) { return this.form.querySelector(`[data-field="${name}"]`); }

  // ------------------------------------------------------------------ building the form for a model
  modelChanged() {
    const m = this.spec;
    $("#model-summary").textContent = [m.summary, `${m.provider_title}.`, m.typical_latency_s ? `Typically ready in about ${m.typical_latency_s} s.` : ""].filter(Boolean).join(" ");
    const warn = $("#model-warning");
    warn.hidden = !m.warning;
    warn.textContent = m.warning || "";
    if (m.prompt.max_chars) this.prompt.maxLength = m.prompt.max_chars; else this.prompt.removeAttribute("maxlength");
    const rules = $("#prompt-rules");
    rules.hidden = !m.prompt.rules.length;
    $("ul", rules).replaceChildren(...m.prompt.rules.map((r) => Object.assign(document.createElement("li"), { textContent: r })));
    this.promptCount();

    const d = m.duration;
    const dur = this.selects.duration;
    this.fill(dur, d.values.length ? d.values : (d.default != null ? [d.default] : []), d.default, fmtSeconds, false);
    dur.disabled = d.fixed || dur.options.length <= 1;
    this.field("duration").hidden = !dur.options.length;
    // Where aspect ratio / resolution are written into the same wire field as size (OpenAI-format models),
    // an explicit size overrides them: the size starts unset so the other two can be used.
    this.sizeOverrides = Boolean(m.size && [m.aspect_ratio, m.resolution].some((c) => c && c.field === m.size.field));
    for (const name of ["aspect_ratio", "resolution", "size"]) {
      const c = m[name];
      this.field(name).hidden = !c;
      const unset = c && (c.default == null || (name === "size" && this.sizeOverrides));
      if (c) this.fill(this.selects[name], c.values, unset ? null : c.default, (v) => v, unset, c.default);
    }
    this.field("hd").hidden = !m.hd;
    this.hd.checked = false;
    $("#hd-hint").textContent = m.hd ? m.hd.note : "";
    this.field("images").hidden = !m.images;
    this.imageRows.replaceChildren();
    if (m.images) for (let i = 0; i < m.images.min; i++) this.addImageRow();
    this.field("characters").hidden = !m.characters;
    this.characters.value = "";
    this.buildOptions(m.options);
    this.field("options").hidden = !m.options.length;
    $("#options-count").textContent = `(${m.options.length})`;
    this.clearErrors();
    this.refresh();
  }

  fill(select, values, def, label, allowUnset, unsetMeans = null) {
    const keep = select.value;
    const opts = values.map((v) => new Option(label(v), String(v)));
    if (allowUnset) opts.unshift(new Option(unsetMeans == null ? "default" : `default (${unsetMeans})`, NOT_SENT));
    select.replaceChildren(...opts);
    const wanted = [keep, def == null ? null : String(def)].find((v) => v != null && opts.some((o) => o.value === v));
    if (wanted != null) select.value = wanted;
    else if (opts.length) select.selectedIndex = 0;
  }

  promptCount() {
    const max = this.spec.prompt.max_chars;
    const n = this.prompt.value.length;
    $("#prompt-count").textContent = max ? `${n.toLocaleString()} / ${max.toLocaleString()} characters` : `${n.toLocaleString()} characters`;
  }

  buildOptions(options) {
    const box = $("#option-fields");
    box.replaceChildren();
    for (const o of options) {
      const wrap = document.createElement("div");
      wrap.className = "field";
      wrap.dataset.option = o.name;
      const id = `opt-${o.name}`;
      const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: o.name.replaceAll("_", " ") });
      let input;
      if (o.type === "bool" || o.type === "enum") {
        input = document.createElement("select");
        const values = o.type === "bool" ? [["true", "yes"], ["false", "no"]] : o.choices.map((c) => [String(c), String(c)]);
        input.append(new Option("default", NOT_SENT), ...values.map(([v, t]) => new Option(t, v)));
        input.addEventListener("change", () => this.refresh());
      } else {
        input = document.createElement("input");
        input.type = o.type === "string" ? "text" : "number";
        if (o.type === "integer") input.step = "1";
        if (o.min != null) input.min = o.min;
        if (o.max != null) input.max = o.max;
        if (o.max_length != null) input.maxLength = o.max_length;
        input.placeholder = "default";
      }
      input.id = id;
      input.dataset.type = o.type;
      const hint = Object.assign(document.createElement("p"), { className: "hint", id: `${id}-hint`, textContent: o.description });
      input.setAttribute("aria-describedby", hint.id);
      wrap.append(label, input, hint);
      box.append(wrap);
    }
  }

  addImageRow() {
    const m = this.spec;
    const n = this.imageRows.children.length;
    if (!m.images || n >= this.maxImages()) return;
    const row = $("#image-row").content.firstElementChild.cloneNode(true);
    const file = $(".image-file", row);
    file.accept = m.images.accept;
    file.addEventListener("change", () => this.refresh());
    const role = $(".image-role", row);
    role.append(...m.images.roles.map((r) => new Option(ROLE_WORDS[r] || r, r)));
    const frames = m.images.roles.includes("first_frame") && m.images.roles.includes("last_frame");
    role.value = frames ? (n === 0 ? "first_frame" : "last_frame") : m.images.default_role;
    role.addEventListener("change", () => this.refresh());
    $(".remove-image", row).addEventListener("click", () => { row.remove(); this.refresh(); });
    this.imageRows.append(row);
  }

  maxImages() {
    const m = this.spec;
    let max = m.images ? m.images.max : 0;
    for (const c of this.activeConstraints()) if (c.require.image_count) max = Math.min(max, Math.max(...c.require.image_count));
    return max;
  }

  images() {
    return [...this.imageRows.children].map((row) => ({ file: $(".image-file", row).files[0] || null, role: $(".image-role", row).value }));
  }

  optionValues() {
    const out = {};
    for (const input of $("#option-fields").querySelectorAll("input, select")) {
      const name = input.id.slice(4);
      const raw = input.value.trim();
      if (raw === NOT_SENT) continue;
      const t = input.dataset.type;
      if (t === "bool") out[name] = raw === "true";
      else if (t === "integer" || t === "number") out[name] = Number(raw);
      else if (t === "enum") out[name] = this.spec.options.find((o) => o.name === name).choices.find((c) => String(c) === raw);
      else out[name] = raw;
    }
    return out;
  }

  // ------------------------------------------------------------------ valid combinations
  state() {
    const m = this.spec;
    const imgs = this.images();
    const v = (name) => (this.field(name).hidden || this.selects[name].value === NOT_SENT ? null : this.selects[name].value);
    const dur = this.selects.duration.value;
    return {
      duration: dur !== "" ? Number(dur) : m.duration.default,
      aspect_ratio: v("aspect_ratio"),
      resolution: v("resolution"),
      size: v("size"),
      hd: m.hd ? this.hd.checked : null,
      image_count: imgs.length,
      has_images: imgs.length > 0,
      has_reference_images: imgs.some((i) => i.role === "reference"),
      has_last_frame: imgs.some((i) => i.role === "last_frame"),
      ...this.optionValues(),
    };
  }

  activeConstraints(state = this.state()) {
    return this.spec.constraints.filter((c) => Object.entries(c.when).every(([k, allowed]) => matches(state[k] ?? null, allowed)));
  }

  refresh() {
    const m = this.spec;
    const notes = Object.fromEntries(CHOICES.map((f) => [f, []]));
    this.blockers = [];
    const bySize = this.sizeOverrides && this.selects.size.value !== NOT_SENT;
    for (const f of ["aspect_ratio", "resolution"]) {
      if (this.field(f).hidden) continue;
      if (bySize) this.selects[f].value = NOT_SENT;
      this.selects[f].disabled = bySize;
    }
    for (let pass = 0; pass < 5; pass++) {
      for (const f of CHOICES) for (const o of this.selects[f].options) { o.disabled = false; o.title = ""; }
      for (const k of Object.keys(notes)) notes[k] = [];
      this.blockers = [];
      let changed = false;
      for (const c of this.activeConstraints()) {
        for (const [f, allowed] of Object.entries(c.require)) {
          const select = this.selects[f];
          if (select) {
            for (const o of select.options) {
              const value = o.value === NOT_SENT ? null : f === "duration" ? Number(o.value) : o.value;
              if (!matches(value, allowed)) { o.disabled = true; o.title = c.message; }
            }
            notes[f].push(c.message);
            if (select.selectedOptions[0]?.disabled) {
              const ok = [...select.options].find((o) => !o.disabled);
              if (ok) { select.value = ok.value; changed = true; } else this.blockers.push(c.message);
            }
          } else if (f === "hd") {
            if (!matches(this.hd.checked, allowed)) { this.hd.checked = Boolean(allowed[0]); changed = true; }
          } else if (!matches(this.state()[f] ?? null, allowed)) {
            this.blockers.push(c.message);
          }
        }
      }
      if (!changed) break;
    }
    for (const f of CHOICES) {
      const base = f === "duration" && m.duration.fixed ? `Fixed length: ${m.duration.describe}.`
        : bySize && (f === "aspect_ratio" || f === "resolution") ? "Given by the size." : "";
      $(`#${f}-hint`).textContent = [...new Set(notes[f])].map((s) => `${s[0].toUpperCase()}${s.slice(1)}.`).concat(base ? [base] : []).join(" ");
    }
    if (m.hd) {
      const ignored = m.hd.ignored_at.some((d) => Math.abs(d - this.state().duration) < 1e-6);
      $("#hd-hint").textContent = [ignored && this.hd.checked ? `HD has no effect at ${this.state().duration} s.` : "", m.hd.note].filter(Boolean).join(" ");
    }
    if (m.images) {
      const max = this.maxImages();
      const n = this.imageRows.children.length;
      this.addImage.disabled = n >= max;
      [...this.imageRows.children].forEach((row, i) => { $(".n", row).textContent = String(i + 1); });
      const count = m.images.min ? `${m.images.min} to ${max}` : `Up to ${max}`;
      const roles = m.images.roles.map((r) => ROLE_WORDS[r] || r).join(", ");
      const size = m.images.max_bytes_text ? `, at most ${m.images.max_bytes_text} each` : "";
      $("#images-hint").textContent = `${count} image${max === 1 ? "" : "s"} (${roles}); ${m.images.formats.join(", ")}${size}.`;
    }
  }

  // ------------------------------------------------------------------ checks before sending
  problems() {
    const m = this.spec;
    const out = [];
    const prompt = this.prompt.value;
    if (!prompt.trim() && (m.prompt.required || !this.images().length)) out.push(["prompt", "The prompt is empty: describe the video you want."]);
    if (m.prompt.max_chars && prompt.length > m.prompt.max_chars) out.push(["prompt", `The prompt has ${prompt.length} characters; ${m.id} takes at most ${m.prompt.max_chars}. Shorten it.`]);
    if (m.images) {
      const imgs = this.images();
      if (imgs.length < m.images.min) out.push(["images", `${m.id} needs at least ${m.images.min} image(s); add ${m.images.min - imgs.length} more.`]);
      if (imgs.length > this.maxImages()) out.push(["images", `${imgs.length} images given; at most ${this.maxImages()} allowed here. Remove ${imgs.length - this.maxImages()}.`]);
      imgs.forEach((img, i) => {
        if (!img.file) { out.push(["images", `Image ${i + 1} has no file: choose one or remove the row.`]); return; }
        const fmt = (img.file.type.split("/")[1] || "").replace("jpg", "jpeg");
        if (!m.images.formats.includes(fmt)) out.push(["images", `Image ${i + 1} (${img.file.name}) is ${img.file.type || "of an unknown type"}; ${m.id} takes ${m.images.formats.join(", ")}.`]);
        if (m.images.max_bytes && img.file.size > m.images.max_bytes) out.push(["images", `Image ${i + 1} (${img.file.name}) is ${humanBytes(img.file.size)}; at most ${m.images.max_bytes_text} allowed. Use a smaller file.`]);
      });
    }
    for (const b of this.blockers || []) out.push(["options", `${b[0].toUpperCase()}${b.slice(1)}.`]);
    return out;
  }

  // The roles the gateway assigns when none are sent (catalog/validate.py assign_roles): two images on a
  // first+last model are [first, last], otherwise each gets the model's default role.
  defaultRoles(n) {
    const img = this.spec.images;
    if (n === 2 && img.roles.includes("first_frame") && img.roles.includes("last_frame")) return ["first_frame", "last_frame"];
    return Array(n).fill(img.default_role);
  }

  // What the form sends, as multipart: OpenAI's create fields plus vidgate's extensions (the gateway checks
  // everything again). The first image is the input_reference file; more images go as data URIs in images[].
  async toFormData() {
    const m = this.spec;
    const s = this.state();
    const data = new FormData();
    data.append("model", m.id);
    data.append("prompt", this.prompt.value);
    if (!m.duration.fixed && s.duration != null) data.append("seconds", String(s.duration));
    for (const f of ["aspect_ratio", "resolution", "size"]) if (s[f] != null) data.append(f, s[f]);
    if (m.hd && this.hd.checked) data.append("hd", "true");
    const imgs = this.images().filter((i) => i.file);
    if (imgs.length) data.append("input_reference", imgs[0].file, imgs[0].file.name);
    for (const img of imgs.slice(1)) data.append("images", await dataUri(img.file));
    const roles = imgs.map((i) => i.role);
    if (roles.join() !== this.defaultRoles(roles.length).join()) for (const r of roles) data.append("image_roles", r);
    if (m.characters) {
      for (const name of this.characters.value.split(/[\s,]+/).map((c) => c.replace(/^@/, "")).filter(Boolean)) {
        data.append("characters", name);
      }
    }
    const options = this.optionValues();
    if (Object.keys(options).length) data.append("options", JSON.stringify(options));
    return data;
  }

  clearErrors() {
    for (const el of this.form.querySelectorAll(".field.invalid")) el.classList.remove("invalid");
    for (const el of this.form.querySelectorAll(".field .error")) el.remove();
    this.setStatus("", "");
  }

  showError(name, message) {
    const base = (name || "").replace(/^options\./, "").split(/[.[]/)[0];
    const aliases = { seconds: "duration", input_reference: "images", image_roles: "images", images: "images" };
    const field = this.field(aliases[base] || base) || this.form.querySelector(`[data-option="${base}"]`);
    if (!field || field.hidden) return false;
    field.classList.add("invalid");
    field.append(Object.assign(document.createElement("p"), { className: "error", textContent: message }));
    return true;
  }

  setStatus(text, kind) {
    this.status.textContent = text;
    this.status.className = `status ${kind}`;
  }

  async send() {
    this.clearErrors();
    this.refresh();
    const problems = this.problems();
    if (problems.length) {
      for (const [f, msg] of problems) this.showError(f, msg);
      this.setStatus(problems.map(([, msg]) => msg).join(" "), "error");
      return;
    }
    this.submit.disabled = true;
    this.setStatus("Sending…", "");
    try {
      const video = await json("/v1/videos", { method: "POST", body: await this.toFormData() });
      this.setStatus(`Job ${video.id} accepted.`, "ok");
      this.onCreated(video);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.showError(err.param, err.message);
      this.setStatus(err.message, "error");
    } finally {
      this.submit.disabled = false;
    }
  }
}
