// index.js: every camera, live, in a responsive grid. The list comes from
// /api/cameras (refreshed every few seconds, so cameras added or renamed show
// up); each tile plays its camera's viewer WebSocket while it is on screen and
// the page is visible, and closes it otherwise.

import { apiURL, clockTime, withToken, wsURL } from "/static/clock.js";
import { Player } from "/static/player.js";

const REFRESH_MS = 5000;

const grid = document.getElementById("grid");
const empty = document.getElementById("empty");
const summary = document.getElementById("summary");

/** tiles maps a camera id to {li, link, canvas, name, badge, fps, msg, player, visible}. */
const tiles = new Map();
let gatewayDown = false;

const observer = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const tile = tiles.get(e.target.dataset.camera);
    if (tile) {
      tile.visible = e.isIntersecting;
      activate(tile);
    }
  }
});

/** activate plays a tile's video while it is on screen and the page shows. */
function activate(tile) {
  if (tile.visible && !document.hidden) {
    tile.player.start();
  } else {
    tile.player.stop();
  }
}

document.addEventListener("visibilitychange", () => {
  for (const tile of tiles.values()) {
    activate(tile);
  }
});

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) {
    e.className = className;
  }
  if (text !== undefined) {
    e.textContent = text;
  }
  return e;
}

function badgeText(p) {
  switch (p.state) {
    case "live":
      return "Live";
    case "offline":
      return Number.isFinite(p.since) ? `Offline since ${clockTime(new Date(p.since))}` : "Offline";
    case "reconnecting":
      return "Reconnecting";
    default:
      return "Connecting";
  }
}

function renderTile(tile) {
  const p = tile.player;
  const state = p.state === "idle" ? "connecting" : p.state;
  tile.badge.dataset.state = state;
  tile.badge.textContent = badgeText(p);
  tile.media.classList.toggle("is-offline", state === "offline");
  tile.media.classList.toggle("has-picture", p.shown !== null);
  let text = "";
  if (!p.shown) {
    text = state === "offline" ? "No picture yet" : state === "reconnecting" ? "Gateway unreachable" : "Connecting…";
  }
  tile.msg.textContent = text;
  tile.msg.hidden = text === "";
  const fps = p.state === "live" ? p.fpsPainted : 0;
  tile.fps.textContent = p.state === "live" ? `${Math.round(fps)} fps` : "";
}

function makeTile(cam) {
  const li = el("li");
  li.dataset.camera = cam.id;
  const link = el("a", "tile");
  link.href = withToken(location, `/cam/${encodeURIComponent(cam.id)}`);
  const media = el("div", "tile-media");
  const canvas = el("canvas");
  canvas.width = 640;
  canvas.height = 480;
  canvas.setAttribute("aria-hidden", "true"); // the link's text names the camera
  const msg = el("p", "msg", "Connecting…");
  media.append(canvas, msg);
  const info = el("div", "tile-info");
  const name = el("span", "tile-name");
  const badge = el("span", "badge");
  badge.dataset.state = "connecting";
  const fps = el("span", "tile-fps");
  info.append(name, badge, fps);
  link.append(media, info);
  li.append(link);

  const tile = { li, link, media, canvas, name, badge, fps, msg, visible: false, player: null };
  tile.player = new Player(canvas, wsURL(location, `/cam/${encodeURIComponent(cam.id)}/ws`), {
    onchange: () => renderTile(tile),
    onstats: () => renderTile(tile),
  });
  return tile;
}

function updateTile(tile, cam) {
  const name = cam.name || cam.id;
  // In a cluster, say which gateway holds the camera: it plays here either way.
  const where = cam.remote && cam.gateway ? `, via gateway ${cam.gateway}` : "";
  const title = `${name} (${cam.id}, ${cam.source}${where})`;
  if (tile.name.textContent !== name) {
    tile.name.textContent = name;
  }
  if (tile.name.title !== title) {
    tile.name.title = title;
  }
}

/** show makes the grid match the gateway's list, in its order. */
function show(list) {
  const seen = new Set();
  let prev = null;
  for (const cam of list) {
    seen.add(cam.id);
    let tile = tiles.get(cam.id);
    if (!tile) {
      tile = makeTile(cam);
      tiles.set(cam.id, tile);
      observer.observe(tile.li);
    }
    updateTile(tile, cam);
    // Keep the DOM in the list's order without moving tiles already in place
    // (moving a focused link would lose its focus).
    const want = prev ? prev.nextSibling : grid.firstChild;
    if (want !== tile.li) {
      grid.insertBefore(tile.li, want);
    }
    prev = tile.li;
  }
  for (const [id, tile] of tiles) {
    if (!seen.has(id)) {
      observer.unobserve(tile.li);
      tile.player.stop();
      tile.li.remove();
      tiles.delete(id);
    }
  }
  empty.hidden = list.length > 0;
  const online = list.filter((c) => c.online).length;
  const text = `${list.length} ${list.length === 1 ? "camera" : "cameras"} · ${online} online`;
  if (summary.textContent !== text) {
    summary.textContent = text;
  }
}

async function refresh() {
  try {
    const res = await fetch(apiURL(location, "/api/cameras"), { cache: "no-store" });
    if (!res.ok) {
      throw new Error(`HTTP ${res.status}`);
    }
    const list = await res.json();
    if (!Array.isArray(list)) {
      throw new Error("not a list");
    }
    gatewayDown = false;
    show(list);
  } catch {
    if (!gatewayDown) {
      gatewayDown = true;
      summary.textContent = "Gateway unreachable · retrying";
    }
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
