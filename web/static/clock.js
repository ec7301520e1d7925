// clock.js: the page's arithmetic as pure functions (no DOM, no timers, no
// globals), so the tests can check it in isolation: clock-offset estimation,
// reconnect backoff, rates over a window, latency and the names and labels
// derived from times.
//
// Times are milliseconds since the Unix epoch unless a name says otherwise.

/**
 * clockSample turns one NTP-style ping exchange into an offset estimate.
 * t0: client send time, t1: gateway receive time, t2: gateway send time,
 * t3: client receive time. offset is gateway clock minus client clock (add it
 * to a client time to get gateway time); rtt is the round trip minus the
 * gateway's own processing time. The error of offset is at most rtt/2.
 */
export function clockSample(t0, t1, t2, t3) {
  return {
    offset: ((t1 - t0) + (t2 - t3)) / 2,
    rtt: Math.max(0, (t3 - t0) - (t2 - t1)),
    at: t3,
  };
}

/**
 * addSample returns samples with s appended, keeping only the newest max
 * (a sliding set: a clock that drifts or a route that changes is followed).
 * The input array is not modified.
 */
export function addSample(samples, s, max = 8) {
  const out = samples.length >= max ? samples.slice(samples.length - max + 1) : samples.slice();
  out.push(s);
  return out;
}

/**
 * bestSample is the sample with the lowest round trip, or null when there
 * is none: the exchange least delayed by queues is the one whose offset is
 * the most accurate.
 */
export function bestSample(samples) {
  let best = null;
  for (const s of samples) {
    if (Number.isFinite(s.offset) && Number.isFinite(s.rtt) && (best === null || s.rtt < best.rtt)) {
      best = s;
    }
  }
  return best;
}

/**
 * latency is how long ago, in ms, the gateway received a frame that the
 * client paints at paintedAt (client clock), given the clock offset. It is
 * null when the gateway time or the offset is unknown.
 */
export function latency(paintedAt, offset, received) {
  if (!Number.isFinite(received) || received <= 0 || !Number.isFinite(offset)) {
    return null;
  }
  return paintedAt + offset - received;
}

/**
 * backoffDelay is the wait in ms before reconnect attempt number attempt
 * (0 for the first retry): capped exponential backoff with full jitter, a
 * uniform draw from [0, min(cap, base·2^attempt)). Full jitter spreads the
 * viewers of a restarted gateway over the window instead of having them all
 * knock at once. random returns a number in [0, 1).
 */
export function backoffDelay(attempt, base = 500, cap = 10000, random = Math.random) {
  const n = Math.max(0, Math.min(attempt, 30)); // 2^30·base is past any cap
  const ceiling = Math.min(cap, base * 2 ** n);
  return Math.floor(random() * ceiling);
}

/**
 * rate is events per second over roughly the last windowMs of history, a
 * list of {t, n} points (t a time in ms, n a running count), oldest first.
 * It uses the oldest point still inside the window and the newest point, and
 * is 0 when they span no time.
 */
export function rate(history, windowMs) {
  const len = history.length;
  if (len < 2) {
    return 0;
  }
  const last = history[len - 1];
  let first = len - 2;
  while (first > 0 && last.t - history[first - 1].t <= windowMs) {
    first--;
  }
  const span = last.t - history[first].t;
  if (span <= 0) {
    return 0;
  }
  return ((last.n - history[first].n) * 1000) / span;
}

/**
 * pushPoint returns history with {t, n} appended, keeping the newest max
 * points. The input array is not modified.
 */
export function pushPoint(history, t, n, max = 12) {
  const out = history.length >= max ? history.slice(history.length - max + 1) : history.slice();
  out.push({ t, n });
  return out;
}

/**
 * ewma is an exponentially weighted moving average step: prev moved toward
 * value by weight alpha (0..1); prev null or NaN starts at value.
 */
export function ewma(prev, value, alpha = 0.2) {
  if (prev === null || !Number.isFinite(prev)) {
    return value;
  }
  return prev + alpha * (value - prev);
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

/** clockTime is date's local time as HH:MM:SS. */
export function clockTime(date) {
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/**
 * snapshotName is the download name of a frame of camera taken at date
 * (local time): <camera>-<YYYYMMDD-HHMMSS>.jpg. The camera id is already
 * [a-z0-9-]+; anything else is replaced so the name is always a safe file
 * name.
 */
export function snapshotName(camera, date) {
  const safe = String(camera).replace(/[^A-Za-z0-9_-]+/g, "_") || "camera";
  const d = `${date.getFullYear()}${pad2(date.getMonth() + 1)}${pad2(date.getDate())}`;
  const t = `${pad2(date.getHours())}${pad2(date.getMinutes())}${pad2(date.getSeconds())}`;
  return `${safe}-${d}-${t}.jpg`;
}

/** kbits is a byte rate per second as kbit/s (1 kbit = 1000 bits). */
export function kbits(bytesPerSecond) {
  return (bytesPerSecond * 8) / 1000;
}

/** secondsLeft is a wait in ms as whole seconds for a countdown, at least 1. */
export function secondsLeft(ms) {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * cameraIDFromPath is the {id} of a /cam/{id} or /cam/{id}/ path, or null.
 */
export function cameraIDFromPath(path) {
  const m = /^\/cam\/([^/]+)\/?$/.exec(path);
  return m ? decodeURIComponent(m[1]) : null;
}

/**
 * withToken adds the viewer token that the page was opened with (?token=)
 * to path, so that its sockets and requests carry it: a browser WebSocket
 * cannot set an Authorization header. Without one the path stays as it is:
 * a browser signed in with Basic resends that by itself.
 */
export function withToken(loc, path) {
  const token = new URLSearchParams(loc.search || "").get("token");
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/**
 * apiURL is the absolute URL of path on the page's own origin, with the
 * page's viewer token, for fetch. Absolute because a page opened as
 * http://user:pass@host/ resolves relative URLs with the credentials in
 * them, which fetch refuses; the origin never has them, and the browser
 * resends the Basic credentials it keeps for the origin by itself.
 */
export function apiURL(loc, path) {
  return `${loc.origin}${withToken(loc, path)}`;
}

/**
 * wsURL is the absolute WebSocket URL of path on the page's own host, with
 * wss: when the page came over https:, and the page's viewer token.
 */
export function wsURL(loc, path) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}${withToken(loc, path)}`;
}
