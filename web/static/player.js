// player.js: one camera's live video in a <canvas>, from the gateway's viewer
// WebSocket (/cam/{id}/ws: one complete JPEG per binary message, JSON events
// as text).
//
// The pipeline keeps at most three frames alive, whatever the rate:
//
//   socket ─► waiting (newest Blob) ─► one createImageBitmap in flight ─► ready (newest ImageBitmap) ─► paint in requestAnimationFrame
//
// A frame that arrives while one is decoding replaces the waiting one, and a
// decoded frame replaces a ready one that was not painted yet (newest wins);
// each replacement counts as skipped. Every ImageBitmap is closed as soon as
// it is painted or replaced, so its pixels are freed at once instead of at the
// next garbage collection. No base64, no object URLs, no lists that grow.

import {
  addSample, backoffDelay, bestSample, clockSample, ewma, latency, pushPoint, rate,
} from "/static/clock.js";

/** Reconnect backoff: first retry within 0.5 s, never more than 10 s apart. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10000;
/** Clock pings: a few quick ones after connecting, then one every 5 s. */
const PING_QUICK = 4;
const PING_QUICK_MS = 250;
const PING_EVERY_MS = 5000;
/** A socket that brought nothing (no frame, no pong) for this long is presumed dead. */
const SILENT_SOCKET_MS = 3 * PING_EVERY_MS + 2000;
/** Clock samples kept: the best of the last 8 (about 40 s). */
const CLOCK_SAMPLES = 8;
/** Statistics are sampled twice a second; rates span the last 2 s. */
const STATS_EVERY_MS = 500;
const RATE_WINDOW_MS = 2000;
const HISTORY_POINTS = 6;
/**
 * A control command's ack comes within the gateway's control timeout (5 s);
 * past this the page stops waiting.
 */
const CONTROL_WAIT_MS = 8000;

/** now is the client's time in ms since the epoch, with sub-ms precision. */
export function now() {
  return performance.timeOrigin + performance.now();
}

/**
 * Player shows one camera's live video in a canvas and keeps its statistics.
 * States: "idle" (stopped), "connecting", "live", "offline" (the gateway says
 * the camera is silent) and "reconnecting" (the socket is down; retryAt says
 * when the next attempt starts).
 */
export class Player {
  /**
   * @param {HTMLCanvasElement} canvas where frames are painted.
   * @param {string} url the viewer WebSocket URL.
   * @param {object} [opts]
   * @param {boolean} [opts.meta] ask for a frame message before each JPEG
   *   (gateway receive time, gateway skips) for latency; default false.
   * @param {(p: Player) => void} [opts.onchange] called when state, the
   *   camera's online state or the picture size changes, and on the first frame.
   * @param {(p: Player) => void} [opts.onstats] called twice a second while running.
   */
  constructor(canvas, url, opts = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.url = url;
    this.wantMeta = Boolean(opts.meta);
    this.onchange = opts.onchange || null;
    this.onstats = opts.onstats || null;

    this.running = false;
    this.state = "idle";
    this.ws = null;
    this.attempt = 0;
    this.retryAt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.statsTimer = 0;
    this.pings = 0;
    this.lastHeard = 0;
    this.controlSeq = 0;
    /** control commands sent on the socket, by id: {resolve, timer}. */
    this.controls = new Map();

    /** hello is the gateway's last hello message, or null. */
    this.hello = null;
    /** online is the camera's state as the gateway last told it, or null. */
    this.online = null;
    /** since is when the camera went online or offline (ms), or NaN. */
    this.since = NaN;
    /** closeInfo describes the last close, e.g. "1001 gateway shutting down". */
    this.closeInfo = "";
    this.lastError = "";

    // The pipeline.
    this.nextMeta = null; // the frame message for the next binary message
    this.waiting = null;  // {blob, meta, arrived}: newest frame not yet decoding
    this.decoding = false;
    this.ready = null;    // {bitmap, blob, meta, arrived}: decoded, not yet painted
    this.shown = null;    // {blob, meta, arrived}: the frame on the canvas
    this.raf = 0;

    // Counters, monotonic while the page lives.
    this.received = 0;
    this.decoded = 0;
    this.painted = 0;
    this.skipped = 0;         // replaced here before being painted
    this.gatewaySkipped = 0;  // skipped by the gateway for this viewer (meta)
    this.decodeErrors = 0;
    this.bytes = 0;
    this.width = 0;
    this.height = 0;

    // Clock sync and derived figures.
    this.samples = [];
    this.offset = NaN; // gateway clock minus client clock, ms
    this.rtt = NaN;
    this.latency = null; // ms, smoothed
    this.hPainted = [];
    this.hReceived = [];
    this.hBytes = [];
    this.fpsPainted = 0;
    this.fpsReceived = 0;
    this.bytesPerSecond = 0;

    this.paint = this.paint.bind(this);
    this.tick = this.tick.bind(this);
    this.onVisibility = () => this.pump();
  }

  /** start connects and keeps the video going until stop. */
  start() {
    if (this.running) {
      return;
    }
    this.running = true;
    this.attempt = 0;
    document.addEventListener("visibilitychange", this.onVisibility);
    this.statsTimer = setInterval(this.tick, STATS_EVERY_MS);
    this.connect();
  }

  /** stop closes the socket and frees every frame but the one on screen. */
  stop() {
    if (!this.running) {
      return;
    }
    this.running = false;
    document.removeEventListener("visibilitychange", this.onVisibility);
    clearInterval(this.statsTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    this.closeSocket(1000, "viewer left");
    this.waiting = null;
    if (this.ready) {
      this.ready.bitmap.close();
      this.ready = null;
    }
    if (this.raf) {
      cancelAnimationFrame(this.raf);
      this.raf = 0;
    }
    this.hPainted = this.hReceived = this.hBytes = [];
    this.fpsPainted = this.fpsReceived = this.bytesPerSecond = 0;
    this.setState("idle");
  }

  connect() {
    this.retryTimer = 0;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.lastError = String(err);
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = "blob"; // the browser keeps the bytes; no copy into the JS heap
    this.ws = ws;
    this.lastHeard = now();
    this.hello = null;
    this.nextMeta = null;
    this.setState("connecting");
    ws.onopen = () => {
      if (ws !== this.ws) {
        return;
      }
      this.lastHeard = now();
      this.pings = 0;
      if (this.wantMeta) {
        this.send({ type: "meta", on: true });
      }
      this.ping();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) {
        return;
      }
      this.lastHeard = now();
      if (typeof ev.data === "string") {
        this.onText(ev.data);
      } else {
        this.onFrame(ev.data);
      }
    };
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (ws !== this.ws) {
        return;
      }
      this.closeInfo = ev.code + (ev.reason ? " " + ev.reason : "");
      this.socketGone();
    };
  }

  closeSocket(code, reason) {
    const ws = this.ws;
    if (!ws) {
      return;
    }
    this.ws = null;
    // Commands in flight lose their answer with the socket; the camera may
    // or may not have applied them.
    for (const id of [...this.controls.keys()]) {
      this.settleControl(id, { type: "ack", id, ok: false, status: 0, error: "the viewer socket closed before the camera answered" });
    }
    ws.onopen = ws.onmessage = ws.onclose = null;
    clearTimeout(this.pingTimer);
    this.pingTimer = 0;
    try {
      ws.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  socketGone() {
    this.closeSocket(1000, "");
    this.nextMeta = null;
    if (this.running) {
      this.scheduleReconnect();
    }
  }

  scheduleReconnect() {
    const delay = backoffDelay(this.attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    this.attempt++;
    this.retryAt = now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.setState("reconnecting");
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
    }
  }

  /** socketOpen reports whether commands can go over the viewer socket now. */
  socketOpen() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  /**
   * control sends settings with the admin token over the viewer socket (a
   * browser cannot set headers on a WebSocket, so the token travels in the
   * message) and resolves with the gateway's ack: {ok, applied} or {ok:
   * false, status, error}, the status being the one POST would answer. It
   * returns null when the socket is not open.
   * @param {object} settings e.g. {framesize: "VGA"}
   * @param {string} token the admin token
   * @returns {Promise<object>|null}
   */
  control(settings, token) {
    if (!this.socketOpen()) {
      return null;
    }
    const id = ++this.controlSeq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settleControl(id, { type: "ack", id, ok: false, status: 0, error: `no answer within ${CONTROL_WAIT_MS / 1000} s` });
      }, CONTROL_WAIT_MS);
      this.controls.set(id, { resolve, timer });
      this.send({ ...settings, type: "control", id, token });
    });
  }

  settleControl(id, ack) {
    const c = this.controls.get(id);
    if (!c) {
      return; // late, or not ours
    }
    this.controls.delete(id);
    clearTimeout(c.timer);
    c.resolve(ack);
  }

  ping() {
    this.pingTimer = 0;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return;
    }
    this.pings++;
    this.send({ type: "ping", id: this.pings, t0: now() });
    this.pingTimer = setTimeout(() => this.ping(), this.pings < PING_QUICK ? PING_QUICK_MS : PING_EVERY_MS);
  }

  onText(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (!m || typeof m !== "object") {
      return;
    }
    switch (m.type) {
      case "frame":
        this.nextMeta = m;
        break;
      case "pong":
        this.onPong(m);
        break;
      case "hello":
        this.hello = m;
        this.attempt = 0; // the gateway is back: the next outage starts from the shortest wait
        this.setOnline(Boolean(m.online), m.since);
        break;
      case "status":
        this.setOnline(Boolean(m.online), m.since);
        break;
      case "ack":
        this.settleControl(m.id, m);
        break;
      case "error":
        this.lastError = String(m.value);
        break;
      default:
      // Newer gateways may send events this page does not know; ignore them.
    }
  }

  onPong(m) {
    const t3 = now();
    if (![m.t0, m.t1, m.t2].every(Number.isFinite)) {
      return;
    }
    this.samples = addSample(this.samples, clockSample(m.t0, m.t1, m.t2, t3), CLOCK_SAMPLES);
    const best = bestSample(this.samples);
    if (best) {
      this.offset = best.offset;
      this.rtt = best.rtt;
    }
  }

  setOnline(online, since) {
    this.online = online;
    this.since = Date.parse(since);
    this.setState(online ? "live" : "offline", true);
  }

  setState(state, force = false) {
    if (state === this.state && !force) {
      return;
    }
    this.state = state;
    if (this.onchange) {
      this.onchange(this);
    }
  }

  onFrame(blob) {
    const meta = this.nextMeta;
    this.nextMeta = null;
    this.received++;
    this.bytes += blob.size;
    if (meta && meta.skipped > 0) {
      this.gatewaySkipped += meta.skipped;
    }
    if (this.waiting) {
      this.skipped++;
    }
    this.waiting = { blob, meta, arrived: now() };
    this.pump();
  }

  /** pump starts a decode when none is in flight and a frame waits. */
  pump() {
    if (this.decoding || !this.waiting || !this.running || document.hidden) {
      // A hidden page paints nothing, so it decodes nothing either; the
      // newest frame waits and is decoded when the page shows again.
      return;
    }
    const item = this.waiting;
    this.waiting = null;
    this.decoding = true;
    createImageBitmap(item.blob).then(
      (bitmap) => {
        this.decoding = false;
        if (!this.running) {
          bitmap.close();
          return;
        }
        this.decoded++;
        if (this.ready) {
          this.ready.bitmap.close();
          this.skipped++;
        }
        item.bitmap = bitmap;
        this.ready = item;
        if (!this.raf) {
          this.raf = requestAnimationFrame(this.paint);
        }
        this.pump();
      },
      () => {
        // A corrupt or truncated JPEG: count it and go on with the next.
        this.decoding = false;
        this.decodeErrors++;
        this.pump();
      },
    );
  }

  paint() {
    this.raf = 0;
    const item = this.ready;
    if (!item) {
      return;
    }
    this.ready = null;
    const { bitmap } = item;
    const { width, height } = bitmap;
    let resized = false;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      resized = true;
    }
    this.ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    item.bitmap = null;
    const first = this.shown === null;
    this.shown = item;
    this.painted++;
    this.width = width;
    this.height = height;
    const ms = latency(now(), this.offset, item.meta ? item.meta.received : NaN);
    if (ms !== null) {
      this.latency = ewma(this.latency, ms, 0.1);
    }
    if ((first || resized) && this.onchange) {
      this.onchange(this);
    }
  }

  tick() {
    const t = now();
    this.hPainted = pushPoint(this.hPainted, t, this.painted, HISTORY_POINTS);
    this.hReceived = pushPoint(this.hReceived, t, this.received, HISTORY_POINTS);
    this.hBytes = pushPoint(this.hBytes, t, this.bytes, HISTORY_POINTS);
    this.fpsPainted = rate(this.hPainted, RATE_WINDOW_MS);
    this.fpsReceived = rate(this.hReceived, RATE_WINDOW_MS);
    this.bytesPerSecond = rate(this.hBytes, RATE_WINDOW_MS);
    if (this.ws && t - this.lastHeard > SILENT_SOCKET_MS) {
      // A handshake into a black hole, or a half-open connection (Wi-Fi
      // gone, laptop slept), may never see a close; the gateway answers
      // pings, so silence means it is gone.
      this.closeInfo = "silent socket";
      this.socketGone();
    }
    if (this.onstats) {
      this.onstats(this);
    }
  }

  /** snapshot is the JPEG on screen and the time it was taken, or null. */
  snapshot() {
    const s = this.shown;
    if (!s) {
      return null;
    }
    // The gateway's receive time is the frame's own timestamp; without
    // frame messages, the time it arrived here is the next best.
    const at = s.meta && s.meta.received > 0 ? s.meta.received : s.arrived;
    return { blob: s.blob, at: new Date(at) };
  }
}
