// controls.js: the admin's camera settings. The admin token is asked once
// and kept in localStorage; without it the settings stay hidden. Each change
// sends one setting: over the page's viewer socket when it is open
// ({"type":"control","id":N,"token":TOKEN,"key":value}, answered by an ack
// with the same outcome as POST), else as POST /cam/{id}/control
// {"key": value} with Authorization: Bearer TOKEN. The gateway's answer
// (status and body) is shown in a live region, whatever it is.

import { apiURL } from "/static/clock.js";

const TOKEN_KEY = "camrelay.adminToken";
/** Longest part of an answer's body shown; the rest is cut. */
const BODY_SHOWN = 400;

/** The settings and how a form value becomes their JSON value. */
const SETTINGS = {
  framesize: (el) => el.value,
  quality: (el) => Number(el.value),
  brightness: (el) => Number(el.value),
  contrast: (el) => Number(el.value),
  saturation: (el) => Number(el.value),
  vflip: (el) => el.checked,
  hmirror: (el) => el.checked,
  led: (el) => Number(el.value),
};

function loadToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

function storeToken(token) {
  try {
    if (token) {
      localStorage.setItem(TOKEN_KEY, token);
    } else {
      localStorage.removeItem(TOKEN_KEY);
    }
  } catch {
    // Storage disabled: the token lasts until the page closes.
  }
}

/**
 * setupControls wires the token form and the settings form of camera
 * cameraID. result is the live region for the gateway's answers. player,
 * if given, is the page's Player, whose socket carries the commands while
 * it is open.
 */
export function setupControls({ cameraID, tokenForm, tokenInput, tokenHint, forgetButton, form, result, player }) {
  let token = loadToken();
  let sent = 0;

  function show(text, ok) {
    result.textContent = text;
    if (ok === undefined) {
      delete result.dataset.ok;
    } else {
      result.dataset.ok = String(ok);
    }
  }

  function refresh() {
    const has = token !== "";
    form.hidden = !has;
    forgetButton.disabled = !has;
    tokenInput.value = "";
    tokenInput.placeholder = has ? "Saved" : "";
    tokenHint.textContent = has
      ? "A token is saved in this browser. Save another to replace it."
      : "Settings need the gateway's admin token. It is kept in this browser only.";
  }

  tokenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = tokenInput.value.trim();
    if (value === "") {
      show("Type the admin token first.", false);
      tokenInput.focus();
      return;
    }
    token = value;
    storeToken(token);
    refresh();
    show("Admin token saved in this browser.");
  });

  forgetButton.addEventListener("click", () => {
    token = "";
    storeToken("");
    refresh();
    show("Admin token forgotten.");
    tokenInput.focus();
  });

  // Enter in a field must not submit the form (a navigation).
  form.addEventListener("submit", (ev) => ev.preventDefault());

  for (const el of form.elements) {
    const key = el.name;
    if (!(key in SETTINGS)) {
      continue;
    }
    const out = form.querySelector(`output[for="${el.id}"]`);
    if (out) {
      el.addEventListener("input", () => {
        out.value = el.value;
      });
    }
    // change, not input: a slider sends when released (or per key step),
    // not for every pixel it passes.
    el.addEventListener("change", () => send(key, SETTINGS[key](el)));
  }

  async function send(key, value) {
    if (!token) {
      show("Save the admin token first.", false);
      return;
    }
    const n = ++sent;
    const what = `${key} = ${JSON.stringify(value)}`;
    show(`${what}: sending…`);
    let text;
    let ok;
    const viaSocket = player ? player.control({ [key]: value }, token) : null;
    if (viaSocket) {
      const ack = await viaSocket;
      const status = ack.ok ? 200 : ack.status;
      let body = JSON.stringify(ack);
      if (body.length > BODY_SHOWN) {
        body = body.slice(0, BODY_SHOWN) + "…";
      }
      ok = Boolean(ack.ok);
      text = status
        ? `${what}: ${status} (viewer socket)\n${body}`
        : `${what}: no answer from the gateway (${ack.error})`;
      if (status === 401) {
        text += "\nCheck the admin token (Forget, then save the right one).";
      }
      if (n === sent) {
        show(text, ok);
      }
      return;
    }
    try {
      const res = await fetch(`${location.origin}/cam/${encodeURIComponent(cameraID)}/control`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ [key]: value }),
        cache: "no-store",
      });
      let body = (await res.text()).trim();
      if (body.length > BODY_SHOWN) {
        body = body.slice(0, BODY_SHOWN) + "…";
      }
      ok = res.ok;
      text = `${what}: ${res.status}${res.statusText ? " " + res.statusText : ""}${body ? "\n" + body : ""}`;
      if (res.status === 401) {
        text += "\nCheck the admin token (Forget, then save the right one).";
      }
    } catch (err) {
      ok = false;
      text = `${what}: no answer from the gateway (${err.message})`;
    }
    if (n === sent) {
      show(text, ok); // an older answer never hides a newer one
    }
  }

  /** prefill sets the fields from what the camera last reported. */
  function prefill(values) {
    for (const [key, value] of Object.entries(values || {})) {
      const el = form.elements.namedItem(key);
      if (!(key in SETTINGS) || !el || value === null || value === undefined) {
        continue;
      }
      if (el.type === "checkbox") {
        el.checked = Boolean(value);
      } else if (el.tagName === "SELECT") {
        if ([...el.options].some((o) => o.value === String(value))) {
          el.value = String(value);
        }
      } else if (Number.isFinite(Number(value))) {
        el.value = String(value);
        const out = form.querySelector(`output[for="${el.id}"]`);
        if (out) {
          out.value = el.value;
        }
      }
    }
  }

  refresh();
  // The camera's hello and status (as the gateway keeps them) say its current
  // settings, when its firmware reports them.
  fetch(apiURL(location, "/api/cameras"), { cache: "no-store" })
    .then((r) => (r.ok ? r.json() : []))
    .then((list) => {
      const cam = Array.isArray(list) ? list.find((c) => c.id === cameraID) : null;
      if (cam) {
        prefill(cam.hello);
        prefill(cam.status);
      }
    })
    .catch(() => {});
}
