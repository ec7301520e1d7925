// camera.js: the page of one camera (/cam/{id}): the live video as large as
// the window allows, the statistics overlay, snapshot, fullscreen and the
// admin's camera settings.

import { cameraIDFromPath, clockTime, kbits, secondsLeft, snapshotName, wsURL } from "/static/clock.js";
import { Player, now } from "/static/player.js";
import { setupControls } from "/static/controls.js";

const OVERLAY_KEY = "camrelay.overlay";
const SETTINGS_KEY = "camrelay.settings";

const $ = (id) => document.getElementById(id);

const id = cameraIDFromPath(location.pathname);
const stage = $("stage");
const canvas = $("video");
const msg = $("msg");
const badge = $("badge");
const title = $("title");
const overlay = $("overlay");
const overlayBtn = $("overlay-btn");
const fullscreenBtn = $("fullscreen-btn");
const snapshotBtn = $("snapshot-btn");
const settingsBtn = $("settings-btn");
const settings = $("settings");
const announcer = $("announce");
const stat = {};
for (const el of overlay.querySelectorAll("[data-stat]")) {
  stat[el.dataset.stat] = el;
}

let name = id || "camera";
let lastAnnounced = "";

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: settings last for this page only
  }
}

function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage disabled or full; the page works without it.
  }
}

/** stateText is the short state for the badge, with the reconnect countdown. */
function stateText(p) {
  switch (p.state) {
    case "live":
      return "Live";
    case "offline":
      return "Offline";
    case "reconnecting":
      return `Reconnecting in ${secondsLeft(p.retryAt - now())} s`;
    case "connecting":
      return "Connecting";
    default:
      return "Stopped";
  }
}

function offlineText(p) {
  return Number.isFinite(p.since) ? `Offline since ${clockTime(new Date(p.since))}` : "Offline";
}

/** render shows the player's state on the badge, the stage and the live region. */
function render(p) {
  badge.dataset.state = p.state === "idle" ? "connecting" : p.state;
  badge.textContent = stateText(p);
  const offline = p.state === "offline";
  stage.classList.toggle("is-offline", offline);
  stage.classList.toggle("has-picture", p.shown !== null);
  snapshotBtn.disabled = p.shown === null;
  let text = "";
  if (offline) {
    text = p.shown ? offlineText(p) : `${offlineText(p)} · no picture yet`;
  } else if (p.state === "reconnecting") {
    text = `Gateway unreachable · reconnecting in ${secondsLeft(p.retryAt - now())} s`;
  } else if (p.state === "connecting" && !p.shown) {
    text = "Connecting…";
  } else if (p.state === "live" && !p.shown) {
    text = "Waiting for the first frame…";
  }
  msg.textContent = text;
  msg.hidden = text === "";

  // Announce state changes, not countdown ticks.
  const spoken = offline ? `${name}: ${offlineText(p)}` : `${name}: ${p.state === "reconnecting" ? "connection lost, reconnecting" : p.state}`;
  if (spoken !== lastAnnounced && p.state !== "idle") {
    lastAnnounced = spoken;
    announcer.textContent = spoken;
  }
}

function fmt(n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

function renderStats(p) {
  if (p.state === "reconnecting") {
    render(p); // the countdown
  }
  if (overlay.hidden) {
    return;
  }
  stat.state.textContent = stateText(p).toLowerCase();
  stat["fps-painted"].textContent = fmt(p.fpsPainted);
  stat["fps-received"].textContent = fmt(p.fpsReceived);
  stat.kbits.textContent = Math.round(kbits(p.bytesPerSecond)).toLocaleString("en-US");
  stat.resolution.textContent = p.width ? `${p.width}×${p.height}` : "–";
  stat.latency.textContent = p.latency === null ? "–" : `${fmt(p.latency, 0)} ms`;
  stat.skipped.textContent = `${p.skipped} here · ${p.gatewaySkipped} gateway`;
  stat.frames.textContent = `${p.received} in · ${p.decoded} dec · ${p.painted} out`;
  // Gateway clock minus this one's, ± half the best round trip (its bound).
  const off = Number.isFinite(p.offset) ? Math.round(p.offset * 10) / 10 : NaN;
  stat.clock.textContent = Number.isFinite(off) ? `${off > 0 ? "+" : off < 0 ? "−" : "±"}${fmt(Math.abs(off))} ms ±${fmt(p.rtt / 2)}` : "–";
}

function onChange(p) {
  if (p.hello && p.hello.name && p.hello.name !== name) {
    name = p.hello.name;
    title.textContent = name;
    document.title = `${name} · camrelay`;
    canvas.setAttribute("aria-label", `Live video of ${name}`);
  }
  render(p);
}

const player = new Player(canvas, wsURL(location, `/cam/${encodeURIComponent(id)}/ws`), {
  meta: true,
  onchange: onChange,
  onstats: renderStats,
});

// ---------- overlay ----------

function setOverlay(on) {
  overlay.hidden = !on;
  overlayBtn.setAttribute("aria-pressed", String(on));
  storageSet(OVERLAY_KEY, on ? "1" : "0");
  if (on) {
    renderStats(player);
  }
}

overlayBtn.addEventListener("click", () => setOverlay(overlay.hidden));

// ---------- snapshot ----------

function downloadSnapshot() {
  const snap = player.snapshot();
  if (!snap) {
    announcer.textContent = "No frame to save yet.";
    return;
  }
  const file = snapshotName(id, snap.at);
  const url = URL.createObjectURL(new Blob([snap.blob], { type: "image/jpeg" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = file;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own reference by now; free ours soon after.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  announcer.textContent = `Saved ${file}`;
}

snapshotBtn.addEventListener("click", downloadSnapshot);

// ---------- fullscreen ----------

function toggleFullscreen() {
  if (document.fullscreenElement) {
    const p = document.exitFullscreen();
    if (p && p.catch) {
      p.catch(() => {});
    }
  } else if (stage.requestFullscreen) {
    const p = stage.requestFullscreen();
    if (p && p.catch) {
      p.catch((err) => {
        announcer.textContent = `Fullscreen refused: ${err.message}`;
      });
    }
  }
}

if (!document.fullscreenEnabled) {
  fullscreenBtn.hidden = true; // e.g. iPhone Safari: only <video> may go fullscreen
}
fullscreenBtn.addEventListener("click", toggleFullscreen);
document.addEventListener("fullscreenchange", () => {
  fullscreenBtn.setAttribute("aria-pressed", String(document.fullscreenElement === stage));
});
// A double click on the picture toggles fullscreen too, as video players do.
stage.addEventListener("dblclick", toggleFullscreen);

// ---------- settings panel ----------

function setSettings(open) {
  settings.hidden = !open;
  settingsBtn.setAttribute("aria-expanded", String(open));
  storageSet(SETTINGS_KEY, open ? "1" : "0");
}

settingsBtn.addEventListener("click", () => {
  setSettings(settings.hidden);
  if (!settings.hidden) {
    const first = settings.querySelector("input:not([type=hidden]), select");
    if (first) {
      first.focus();
    }
  }
});

// ---------- keys ----------

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) {
    return;
  }
  const t = ev.target;
  if (t instanceof HTMLElement && (t.isContentEditable || t.closest("input, select, textarea"))) {
    return; // typing a token or moving a slider
  }
  switch (ev.key) {
    case "o":
    case "O":
      setOverlay(overlay.hidden);
      break;
    case "f":
    case "F":
      if (!fullscreenBtn.hidden) {
        toggleFullscreen();
      }
      break;
    case "s":
    case "S":
      downloadSnapshot();
      break;
    default:
      return;
  }
  ev.preventDefault();
});

// ---------- start ----------

if (!id) {
  msg.textContent = "No camera in this address; open one from the list.";
} else {
  title.textContent = name;
  document.title = `${name} · camrelay`;
  setOverlay(storageGet(OVERLAY_KEY) === "1");
  setSettings(storageGet(SETTINGS_KEY) === "1");
  setupControls({
    cameraID: id,
    tokenForm: $("token-form"),
    tokenInput: $("token"),
    tokenHint: $("token-hint"),
    forgetButton: $("forget"),
    form: $("controls"),
    result: $("control-result"),
    player,
  });
  player.start();
  // Tests and curious users can reach the player from the console.
  window.camrelay = { player };
}
