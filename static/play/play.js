// The /play page: login form, keyboard movement (INPUT at ~10 Hz while keys are held, one zero
// move on release), the world canvas with an entity read-out on hover, the minimap with the
// worker simulating you, chat, logout and the status line; `window.zs` exposes a read-only view
// of the state for tests. The protocol is the client SDK's (sdk.js, built from src/client/ by
// `npm run build:sdk`): one GameClient per login.
import { ClientWorld, CloseCode, GameClient } from "./sdk.js";
import { Minimap } from "./minimap.js";
import { labelOf, WorldCanvas } from "./world_canvas.js";

const INPUT_MS = 100;
const KEYS = {
  KeyW: [0, -1],
  ArrowUp: [0, -1],
  KeyS: [0, 1],
  ArrowDown: [0, 1],
  KeyA: [-1, 0],
  ArrowLeft: [-1, 0],
  KeyD: [1, 0],
  ArrowRight: [1, 0],
};
const PING_MS = 2000;
const MAX_CHAT_LINES = 200;
/** Resume attempts after a drop: about the 15 s resume grace period in all. */
const RECONNECT = { maxAttempts: 8, baseMs: 500, maxMs: 3000 };
const CLOSE_NAMES = { 1006: "ABNORMAL" };
for (const [name, code] of Object.entries(CloseCode)) CLOSE_NAMES[code] = name;
const $ = (id) => document.getElementById(id);

/** "4004 SLOW_CONSUMER" for a close code. */
function closeName(code) {
  return `${code} ${CLOSE_NAMES[code] ?? "UNKNOWN"}`;
}

/**
 * What the page keeps of its session: the current GameClient (one per login; null when logged
 * out) and what the page shows of it.
 */
const session = {
  client: null,
  /** An empty world to draw while logged out. */
  empty: new ClientWorld(),
  chat: [],
  errors: [],
  closes: [],
  contradictions: 0,
  get world() {
    return this.client?.world ?? this.empty;
  },
  get welcome() {
    return this.client?.welcome;
  },
  get own() {
    return this.client?.world.own;
  },
  get connected() {
    return this.client?.connected ?? false;
  },
  get rttMs() {
    return this.client?.rttMs ?? null;
  },
};
const canvas = new WorldCanvas($("world"));
const minimap = new Minimap($("minimap"), () => redraw());
let hovered = null;
const held = new Set();
let moving = false;
let drawQueued = false;

function say(text, level = "info") {
  const line = $("message");
  line.textContent = text;
  line.className = `message ${level}`;
}

function redraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    canvas.draw(session.world, session.welcome, session.client?.entity);
    const rtt = session.rttMs === null ? "–" : `${Math.round(session.rttMs)} ms`;
    const own = session.own;
    const where = own ? ` · at ${Math.round(own.x)}, ${Math.round(own.y)}` : "";
    $("status").textContent = `tick ${session.world.tick} · ping ${rtt} · ` +
      `${session.world.entities.size} entities${where}`;
    minimap.draw(own);
    const owner = minimap.ownerAt(own);
    const cell = own ? minimap.cellAt(own.x, own.y, own.z) : -1;
    $("worker").textContent = owner ? `on worker ${owner} (cell ${cell})` : "";
    $("map-status").textContent = minimap.error ??
      (minimap.info ? `epoch ${minimap.info.epoch}` : "");
    renderLegend();
    renderInspect();
  });
}

function renderLegend() {
  const items = [...minimap.colours()].map(([id, colour]) => {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    item.append(swatch, id);
    return item;
  });
  $("legend").replaceChildren(...items);
}

/** The hovered entity's type, id and every data field the game gives it. */
function renderInspect() {
  const entity = hovered === null ? undefined : session.world.entities.get(hovered);
  $("inspect").hidden = !entity;
  if (!entity) return;
  const lines = [
    `${entity.type} #${entity.id} at ${Math.round(entity.x)}, ${Math.round(entity.y)}`,
  ];
  for (const [key, value] of Object.entries(entity.data ?? {})) {
    lines.push(`${key}: ${JSON.stringify(value)}`);
  }
  $("inspect").textContent = lines.join("\n");
}

$("world").addEventListener("mousemove", (event) => {
  const rect = $("world").getBoundingClientRect();
  const scale = $("world").width / rect.width;
  const entity = canvas.entityAt(
    session.world,
    (event.clientX - rect.left) * scale,
    (event.clientY - rect.top) * scale,
  );
  hovered = entity ? entity.id : null;
  redraw();
});
$("world").addEventListener("mouseleave", () => {
  hovered = null;
  redraw();
});

/** The move of the keys held now, normalised so diagonals are not faster. */
function currentMove() {
  let dx = 0, dy = 0;
  for (const code of held) {
    dx += KEYS[code][0];
    dy += KEYS[code][1];
  }
  dx = Math.max(-1, Math.min(1, dx));
  dy = Math.max(-1, Math.min(1, dy));
  const length = Math.hypot(dx, dy);
  return length > 1 ? [dx / length, dy / length] : [dx, dy];
}

function sendMove() {
  const move = currentMove();
  const still = move[0] === 0 && move[1] === 0;
  if (still && !moving) return;
  if (session.client?.input({ move }) !== undefined) moving = !still;
}

function typing(event) {
  const tag = event.target?.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}

document.addEventListener("keydown", (event) => {
  if (!(event.code in KEYS) || typing(event) || $("game").hidden) return;
  event.preventDefault();
  if (!held.has(event.code)) {
    held.add(event.code);
    sendMove();
  }
});
document.addEventListener("keyup", (event) => {
  if (!held.delete(event.code)) return;
  sendMove();
});
globalThis.addEventListener("blur", () => {
  held.clear();
  sendMove();
});
setInterval(() => {
  if (held.size > 0) sendMove();
}, INPUT_MS);

function addChatLine(message) {
  const item = document.createElement("li");
  const time = new Date(message.time).toLocaleTimeString();
  item.className = message.channel;
  item.textContent = `${time} [${message.channel}] ${message.from}: ${message.text}`;
  const list = $("chat-lines");
  list.append(item);
  while (list.children.length > 200) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
}

function showError(text) {
  const item = document.createElement("li");
  item.className = "error";
  item.textContent = text;
  $("chat-lines").append(item);
  say(text, "error");
}

/** A new client for `login`, its events wired to the page. */
function newClient(login) {
  const client = new GameClient({
    servers: [location.origin],
    login,
    format: "json",
    pingMs: PING_MS,
    reconnect: RECONNECT,
  });
  /** Listens while `client` is the page's current one (a replaced client's events are stale). */
  const on = (type, fn) => client.on(type, (event) => client === session.client && fn(event));
  on("welcome", (welcome) => {
    say(welcome.resumed ? "resumed" : "connected");
    redraw();
  });
  on("diff", redraw);
  on("pong", redraw);
  on("chat", (message) => {
    session.chat.push(message);
    if (session.chat.length > MAX_CHAT_LINES) session.chat.shift();
    addChatLine(message);
  });
  on("serverError", (message) => {
    session.errors.push(message);
    showError(`server error ${message.code}: ${message.message}`);
  });
  on("protocolError", (error) => {
    session.contradictions++;
    showError(`bad frame from the server (${error.kind}): ${error.message}`);
  });
  on("reconnecting", ({ attempt }) => {
    say(`connection lost; resuming (attempt ${attempt})…`);
  });
  on("reconnectFailed", ({ error }) => {
    say(`could not resume: ${error.message}`, "error");
  });
  on("close", ({ code, reason, error, requested, reconnect }) => {
    moving = false;
    if (requested) return; // the page closed it: logout says so
    session.closes.push({ code, reason });
    const why = error ? ` (${error})` : "";
    showError(`connection closed: ${closeName(code)}${why}${reconnect ? " — reconnecting…" : ""}`);
    if (!reconnect && (code === 4001 || code === 4006)) $("login").hidden = false;
  });
  return client;
}

$("account").addEventListener("change", () => {
  const account = $("account").checked;
  $("guest-fields").hidden = account;
  $("account-fields").hidden = !account;
});

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = $("account").checked
    ? {
      username: $("username").value,
      password: $("password").value,
      register: $("register").checked,
    }
    : { guest: true, name: $("name").value };
  $("login-button").disabled = true;
  try {
    void session.client?.close();
    const client = session.client = newClient(body);
    say("logging in…");
    await client.connect();
    $("login").hidden = true;
    $("game").hidden = false;
    $("map-panel").hidden = false;
    $("logout").hidden = false;
    minimap.start();
  } catch (error) {
    session.client = null;
    const code = error.code ?? error.reason;
    say(`cannot play: ${code ? `${code}: ` : ""}${error.message}`, "error");
  } finally {
    $("login-button").disabled = false;
  }
});

/** Ends the session (close 1000) and goes back to the login form. */
function logout() {
  const client = session.client;
  session.client = null;
  void client?.close().then(() => say("logged out"));
  minimap.stop();
  held.clear();
  moving = false;
  hovered = null;
  $("game").hidden = true;
  $("map-panel").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("worker").textContent = "";
  redraw();
}
$("logout").addEventListener("click", logout);

// The diagnostics page is served where the coordinator is: link to it only there.
fetch("/healthz", { signal: AbortSignal.timeout(3000) })
  .then((r) => r.json())
  .then((health) => ($("diagnostics").hidden = health.role === "gateway"))
  .catch(() => {});

$("chat").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-text").value.trim();
  if (!text) return;
  if (session.client?.chat($("chat-channel").value, text)) $("chat-text").value = "";
  else say("not connected: the message was not sent", "error");
});

/** Read-only state for tests and the curious (`window.zs`): copies, never the live objects. */
globalThis.zs = Object.freeze({
  get connected() {
    return session.connected;
  },
  get ownId() {
    return session.client && session.client.entity >= 0 ? session.client.entity : null;
  },
  get session() {
    return session.welcome?.session ?? null;
  },
  get gateway() {
    return session.client?.gatewayUrl ?? "";
  },
  get tick() {
    return session.world.tick;
  },
  get rttMs() {
    return session.rttMs;
  },
  /** The worker owning the cell the player is in, per the minimap ("" before it knows). */
  get worker() {
    return minimap.ownerAt(session.own);
  },
  get minimapEpoch() {
    return minimap.info?.epoch ?? null;
  },
  get inspected() {
    return $("inspect").hidden ? null : $("inspect").textContent;
  },
  /** Visible entities: `[{ id, type, x, y, z, name }]`. */
  get entities() {
    return [...session.world.entities.values()].map((e) => ({
      id: e.id,
      type: e.type,
      x: e.x,
      y: e.y,
      z: e.z,
      name: e.type === "player" ? labelOf(e) : null,
    }));
  },
  entity(id) {
    return this.entities.find((e) => e.id === id) ?? null;
  },
  get chat() {
    return session.chat.map((c) => ({ ...c }));
  },
  get errors() {
    return session.errors.map((e) => ({ ...e }));
  },
  get closes() {
    return session.closes.map((c) => ({ ...c }));
  },
  /** Server frames the SDK refused or DIFFs that broke the stream (should stay 0). */
  get contradictions() {
    return session.contradictions;
  },
});

redraw();
