// The job list: live progress over Server-Sent Events, the finished video with its thumbnail and probed
// facts, and failure reasons in plain words.
import { ApiError, json, request, streamEvents } from "./api.js";

const $ = (sel, root = document) => root.querySelector(sel);
const FINAL = new Set(["succeeded", "failed", "cancelled", "expired"]);
// OpenAI's status words and vidgate's, onto one vocabulary.
const STATUS = { in_progress: "running", completed: "succeeded", processing: "running" };
const WORDS = {
  pending: "waiting", queued: "queued", running: "rendering", succeeded: "finished", failed: "failed",
  cancelled: "cancelled", expired: "timed out", unknown: "outcome unknown",
};

// OpenAI's word says whether the file is ready (completed = saved by the gateway); vidgate's own word, where
// the gateway adds it, tells a cancelled or timed-out job from a failed one and a waiting one from a queued one.
function statusOf(v) {
  const s = String(v.status || "pending").toLowerCase();
  const mine = v.vidgate?.status;
  const status = STATUS[s] || s;
  if (status === "failed" && (mine === "cancelled" || mine === "expired")) return mine;
  if (status === "queued" && (mine === "pending" || mine === "unknown")) return mine;
  return status;
}

function when(v) {
  const t = v.created_at;
  if (t == null) return null;
  return typeof t === "number" ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// The saved file as the gateway probed it (PyAV): duration, width, height, codec, fps, and any mismatch.
function fileOf(v) {
  return v.vidgate?.video || null;
}

export class JobList {
  constructor(messages) {
    this.messages = messages;
    this.list = $("#job-list");
    this.empty = $("#jobs-empty");
    this.more = $("#more-jobs");
    this.more.addEventListener("click", () => this.loadMore());
    this.cards = new Map();
    this.lastId = null;
  }

  reset() {
    for (const card of this.cards.values()) { card.abort.abort(); card.urls.forEach((u) => URL.revokeObjectURL(u)); }
    this.cards.clear();
    this.list.replaceChildren();
    this.empty.hidden = false;
    this.more.hidden = true;
  }

  async load() {
    this.reset();
    await this.page("");
  }

  async loadMore() {
    this.more.disabled = true;
    try { await this.page(`&after=${encodeURIComponent(this.lastId)}`); } finally { this.more.disabled = false; }
  }

  async page(after) {
    const page = await json(`/v1/videos?limit=20&order=desc${after}`);
    for (const v of page.data || []) this.upsert(v, { append: true });
    this.lastId = page.last_id || this.lastId;
    this.more.hidden = !page.has_more;
  }

  upsert(v, { append = false } = {}) {
    let card = this.cards.get(v.id);
    if (!card) {
      const el = $("#job-card").content.firstElementChild.cloneNode(true);
      el.dataset.jobId = v.id;
      card = { el, abort: new AbortController(), urls: [], shown: false, watching: false, video: v };
      $(".job-cancel", el).addEventListener("click", () => this.cancel(card));
      $(".job-review-run", el).addEventListener("click", () => this.review(card));
      this.cards.set(v.id, card);
      if (append) this.list.append(el); else this.list.prepend(el);
      this.empty.hidden = true;
    }
    this.render(card, v);
    if (!FINAL.has(statusOf(v)) && !card.watching) this.watch(card);
    return card;
  }

  render(card, v) {
    card.video = { ...card.video, ...v };
    v = card.video;
    const { el } = card;
    const status = statusOf(v);
    const progress = Math.max(0, Math.min(100, Math.round(Number(v.progress) || 0)));
    el.dataset.status = status;
    el.dataset.progress = String(status === "succeeded" ? 100 : progress);
    $(".job-model", el).textContent = v.model || "";
    const badge = $(".job-status", el);
    badge.textContent = WORDS[status] || status;
    badge.className = `badge job-status ${status}`;
    const prompt = v.prompt ?? v.request?.prompt ?? "";
    $(".job-prompt", el).textContent = prompt;
    const t = when(v);
    const time = $(".job-time", el);
    if (t && !Number.isNaN(t.getTime())) { time.dateTime = t.toISOString(); time.textContent = t.toLocaleString(); }
    $("progress", el).value = status === "succeeded" ? 100 : progress;
    $(".pct", el).textContent = `${status === "succeeded" ? 100 : progress}%`;
    const stopped = FINAL.has(status) || status === "unknown";
    if (stopped) el.dataset.final = status; else delete el.dataset.final;
    if (status === "succeeded" && !card.shown) { card.shown = true; this.showResult(card); }
    if (status !== "succeeded" && stopped) this.showFailure(card, v, status);
    else if (status !== "succeeded") $(".job-error", el).hidden = true;
    this.showReview(card, v, status);
  }

  // The AI review of a finished video (POST /v1/assists/review, stored on the video): verdict and issues.
  showReview(card, v, status) {
    const box = $(".job-review", card.el);
    $(".job-review-run", card.el).hidden = status !== "succeeded";
    const review = v.vidgate?.review;
    box.hidden = !review;
    if (!review) return;
    box.dataset.matches = String(review.matches);
    $(".verdict", box).textContent = `${review.matches ? "Matches the prompt" : "Does not match the prompt"}`
      + (review.summary ? `: ${review.summary}` : "");
    const issues = $(".issues", box);
    issues.replaceChildren(...(review.issues || []).map((i) => {
      const li = document.createElement("li");
      const at = i.start_s == null ? "" : `${i.start_s}${i.end_s != null && i.end_s !== i.start_s ? `–${i.end_s}` : ""} s: `;
      li.textContent = at + i.what;
      return li;
    }));
  }

  async review(card) {
    const button = $(".job-review-run", card.el);
    button.disabled = true;
    $(".job-note", card.el).textContent = "Reviewing the video…";
    try {
      await json("/v1/assists/review", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ video_id: card.video.id }),
      });
      this.render(card, await json(`/v1/videos/${encodeURIComponent(card.video.id)}`));
      $(".job-note", card.el).textContent = "";
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      $(".job-note", card.el).textContent = `Not reviewed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  showFailure(card, v, status) {
    const box = $(".job-error", card.el);
    const code = v.vidgate?.error?.code || v.error?.code || null;
    const { codes, states } = this.messages;
    $(".reason", box).textContent = codes[code] || states[code] || (code && status === "failed"
      ? `The job failed (reason code ${code}). The provider's own words are below.`
      : states[status] || states.failed);
    const raw = v.vidgate?.error?.message || v.error?.message || "";
    $(".raw", box).textContent = raw || "(none given)";
    $("details", box).hidden = !raw;
    box.hidden = false;
  }

  async cancel(card) {
    const button = $(".job-cancel", card.el);
    button.disabled = true;
    try {
      this.render(card, await json(`/v1/videos/${encodeURIComponent(card.video.id)}/cancel`, { method: "POST" }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      button.disabled = false;
      $(".job-note", card.el).textContent = `Not cancelled: ${err.message}`;
    }
  }

  // ------------------------------------------------------------------ live progress
  async watch(card) {
    card.watching = true;
    const id = card.video.id;
    const signal = card.abort.signal;
    let lastId = null;
    let delay = 500;
    while (!signal.aborted && !FINAL.has(statusOf(card.video))) {
      try {
        await streamEvents(`/v1/videos/${encodeURIComponent(id)}/events`, (ev) => {
          lastId = ev.id || lastId;
          let data;
          try { data = JSON.parse(ev.data); } catch { return; }
          if (ev.event === "deleted") { card.abort.abort(); card.el.remove(); this.cards.delete(id); return; }
          const v = data && data.id ? data : data?.job || data?.data;
          if (v && v.id === id) this.render(card, v);
          delay = 500;
        }, { signal, lastEventId: lastId });
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
          await this.poll(card);  // no events endpoint: poll the video object instead
          break;
        }
      }
      if (FINAL.has(statusOf(card.video))) break;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 8000);
      // The stream ended early (proxy timeout, restart): read the current state, then listen again.
      try { this.render(card, await json(`/v1/videos/${encodeURIComponent(id)}`, { signal })); } catch { /* retry */ }
    }
    card.watching = false;
  }

  async poll(card) {
    const signal = card.abort.signal;
    while (!signal.aborted && !FINAL.has(statusOf(card.video))) {
      await sleep(1000, signal);
      try { this.render(card, await json(`/v1/videos/${encodeURIComponent(card.video.id)}`, { signal })); } catch { /* keep trying */ }
    }
  }

  // ------------------------------------------------------------------ the finished video
  async content(card, variant, tries = 1) {
    const path = `/v1/videos/${encodeURIComponent(card.video.id)}/content${variant === "video" ? "" : `?variant=${variant}`}`;
    for (let i = 0; ; i++) {
      try {
        const blob = await (await request(path, { signal: card.abort.signal })).blob();
        const u = URL.createObjectURL(blob);
        card.urls.push(u);
        return { url: u, blob };
      } catch (err) {
        // The provider finished but the gateway may still be saving the file: wait and ask again.
        if (i + 1 >= tries || card.abort.signal.aborted || !(err instanceof ApiError) || ![404, 409, 425, 503].includes(err.status)) throw err;
        await sleep(Math.min(500 * 2 ** i, 4000), card.abort.signal);
      }
    }
  }

  async showResult(card) {
    const { el } = card;
    const box = $(".job-result", el);
    const player = $(".job-video", el);
    const facts = $(".facts", el);
    box.hidden = false;
    const links = card.video.vidgate?.links || {};
    const name = `${card.video.id.replace(/[^A-Za-z0-9._-]/g, "_")}.mp4`;
    try {
      // A signed, expiring link needs no API key, so the player streams it with Range requests; without
      // one the file is fetched with the key and played from memory.
      const { url, blob } = links.video ? { url: links.video, blob: null } : await this.content(card, "video", 8);
      player.addEventListener("loadedmetadata", () => this.showFacts(card, facts, player, blob), { once: true });
      player.src = url;
      const link = $(".job-download", el);
      link.href = url;
      link.download = name;
    } catch (err) {
      box.hidden = true;
      this.showFailure(card, { error: { message: `The video could not be loaded: ${err.message}` } }, "failed");
      $(".reason", $(".job-error", el)).textContent = "The video is finished but the gateway could not send the file.";
      return;
    }
    const variants = card.video.vidgate?.variants;
    if (!links.thumbnail && variants && !variants.includes("thumbnail") && !variants.includes("cover")) return;
    try {
      const thumb = links.thumbnail ? { url: links.thumbnail } : await this.content(card, "thumbnail", 2);
      const img = $(".job-thumb", el);
      img.src = thumb.url;
      img.hidden = false;
      player.poster = thumb.url;
    } catch { /* no thumbnail for this provider */ }
  }

  showFacts(card, dl, player, blob) {
    const file = fileOf(card.video) || {};
    const probe = file.probe || {};
    const rows = [];
    const duration = probe.duration ?? (Number.isFinite(player.duration) ? player.duration : null);
    if (duration != null) rows.push(["Duration", `${Number(duration).toFixed(2)} s`]);
    const w = probe.width ?? player.videoWidth, h = probe.height ?? player.videoHeight;
    if (w && h) rows.push(["Size", `${w}×${h}`]);
    if (probe.codec) rows.push(["Codec", probe.codec]);
    if (probe.fps) rows.push(["Frame rate", `${Number(probe.fps).toFixed(2).replace(/\.00$/, "")} fps`]);
    const bytes = file.size_bytes ?? blob?.size;
    if (bytes != null) rows.push(["File", `${(bytes / 1048576).toFixed(2)} MiB, ${file.mime_type || blob?.type || "video/mp4"}`]);
    const asked = card.video.vidgate?.request || {};
    const wanted = [asked.duration != null ? `${asked.duration} s` : "", asked.size || asked.aspect_ratio || "", asked.resolution || ""].filter(Boolean);
    if (wanted.length) rows.push(["Asked for", wanted.join(", ")]);
    const mismatch = file.mismatch;
    if (mismatch && mismatch.length) rows.push(["Differs", mismatch.join("; ")]);
    dl.replaceChildren(...rows.flatMap(([k, v]) => [
      Object.assign(document.createElement("dt"), { textContent: k }),
      Object.assign(document.createElement("dd"), { textContent: v }),
    ]));
  }
}
