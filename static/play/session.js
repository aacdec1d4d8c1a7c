// One player's session over the client protocol (docs/protocol.md) in JSON format: check-in
// with GET /gateways, POST /login, the WebSocket with HELLO/WELCOME, DIFFs into a World, chat,
// PING/PONG, and resume with the resume token after a dropped connection.
import { World } from "./world.js";

const Op = { HELLO: 1, INPUT: 2, CHAT: 3, PING: 4, WELCOME: 5, DIFF: 6, PONG: 7, ERROR: 8 };
/** Close codes after which the protocol says: reconnect and resume. */
const RESUMABLE = new Set([1001, 1006, 1011, 4003, 4004, 4005, 4008]);
const CLOSE_NAMES = {
  1000: "NORMAL",
  1001: "GOING_AWAY",
  1006: "ABNORMAL",
  1007: "BAD_DATA",
  1008: "POLICY_VIOLATION",
  1009: "TOO_BIG",
  1011: "INTERNAL",
  4001: "UNAUTHENTICATED",
  4002: "RESUME_FAILED",
  4003: "IDLE_TIMEOUT",
  4004: "SLOW_CONSUMER",
  4005: "RATE_LIMITED",
  4006: "SESSION_TAKEN_OVER",
  4007: "UNSUPPORTED_PROTOCOL",
  4008: "WORLD_STALLED",
  4009: "KICKED",
};
const PING_MS = 2000;
const OPEN_TIMEOUT_MS = 5000;
const RESUME_BACKOFF_MS = 500;
const MAX_CHAT_LINES = 200;

/** A failed HTTP call of the login API, with the server's error code. */
export class LoginError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "LoginError";
    this.code = code;
  }
}

/** "4004 SLOW_CONSUMER" for a close code. */
export function closeName(code) {
  return `${code} ${CLOSE_NAMES[code] ?? "UNKNOWN"}`;
}

async function requestJson(path, body) {
  const response = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  let value = null;
  try {
    value = await response.json();
  } catch {
    // not JSON: reported below by status
  }
  if (!response.ok) {
    const error = value && value.error;
    throw new LoginError(
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `${path}: HTTP ${response.status}`,
    );
  }
  return value;
}

/**
 * A session. Events (all `CustomEvent`s, details in brackets): `status` [text], `welcome`
 * [WELCOME], `diff` [DIFF], `chat` [CHAT], `pong` [rtt ms], `servererror` [ERROR],
 * `closed` [{ code, reason, error, final }] — `final` when it will not resume by itself.
 */
export class PlaySession extends EventTarget {
  constructor() {
    super();
    this.world = new World();
    this.chat = [];
    this.errors = [];
    this.closes = [];
    this.welcome = null;
    this.gatewayUrl = "";
    this.rttMs = null;
    this.connected = false;
    this.token = "";
    this.resumeToken = "";
    this.seq = 0;
    this.gateways = [];
    this.ws = null;
    this.stopped = false;
    this.pingTimer = 0;
    this.lastError = null;
  }

  /** Logs in (`{ guest: true, name }` or `{ username, password, register }`). */
  async login(body) {
    this.status("logging in…");
    const answer = await requestJson("/login", body);
    this.token = answer.token;
    // Check-in: the live list, else the one that came with the token.
    try {
      const list = await requestJson("/gateways");
      this.gateways = list.gateways.length > 0 ? list.gateways : answer.gateways;
    } catch {
      this.gateways = answer.gateways;
    }
    if (this.gateways.length === 0) throw new LoginError("UNAVAILABLE", "no gateway is listed");
  }

  /** Opens a new session on a gateway picked at random, failing over to the next ones. */
  async connect() {
    this.stopped = false;
    const first = Math.floor(Math.random() * this.gateways.length);
    const urls = this.gateways.map((_, i) => this.gateways[(first + i) % this.gateways.length].url);
    await this.#open(urls, { op: Op.HELLO, protocol: 1, token: this.token });
  }

  /** Sends an INPUT with the next seq. */
  input(move) {
    this.seq += 1;
    return this.#send({ op: Op.INPUT, seq: this.seq, intent: { move } });
  }

  /** Sends a chat line to "global" or "nearby". */
  say(channel, text) {
    return this.#send({ op: Op.CHAT, channel, text });
  }

  /** Ends the session on purpose (close 1000). */
  stop() {
    this.stopped = true;
    clearInterval(this.pingTimer);
    this.ws?.close(1000);
  }

  /** Ends the session and forgets it: the next play starts with a new login. */
  logout() {
    this.stop();
    this.connected = false;
    this.token = "";
    this.resumeToken = "";
    this.welcome = null;
    this.world.clear();
  }

  /** The own entity, or undefined while it is not visible. */
  get own() {
    return this.welcome ? this.world.entities.get(this.welcome.entity) : undefined;
  }

  status(text) {
    this.dispatchEvent(new CustomEvent("status", { detail: text }));
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** A PING carrying the last round trip, so the gateway can show it to operators. */
  #ping() {
    const ping = { op: Op.PING, t: performance.now() };
    if (this.rttMs !== null) ping.rtt = Math.min(600000, Math.round(this.rttMs));
    return ping;
  }

  #send(message) {
    if (!this.connected || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Tries `urls` in order until one opens, then sends `hello` on it. */
  async #open(urls, hello) {
    for (const url of urls) {
      if (this.stopped) return;
      this.status(`connecting to ${url}…`);
      const target = new URL(url);
      target.searchParams.set("format", "json");
      try {
        const ws = await openSocket(target.href);
        this.gatewayUrl = url;
        this.#attach(ws);
        ws.send(JSON.stringify(hello));
        return;
      } catch {
        // try the next gateway
      }
    }
    throw new LoginError("UNAVAILABLE", `no gateway answered (${urls.join(", ")})`);
  }

  #attach(ws) {
    this.ws = ws;
    this.lastError = null;
    ws.onmessage = (event) => this.#onFrame(ws, event.data);
    ws.onclose = (event) => this.#onClose(ws, event);
  }

  #onFrame(ws, data) {
    if (ws !== this.ws || typeof data !== "string") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.op) {
      case Op.WELCOME:
        this.welcome = message;
        this.resumeToken = message.resumeToken;
        this.connected = true;
        this.world.clear();
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(
          () => this.#send(this.#ping()),
          PING_MS,
        );
        this.#send(this.#ping());
        this.status(message.resumed ? "resumed" : "connected");
        this.#emit("welcome", message);
        break;
      case Op.DIFF:
        this.world.apply(message);
        this.#emit("diff", message);
        break;
      case Op.CHAT:
        this.chat.push(message);
        if (this.chat.length > MAX_CHAT_LINES) this.chat.shift();
        this.#emit("chat", message);
        break;
      case Op.PONG:
        this.rttMs = performance.now() - message.t;
        this.#emit("pong", this.rttMs);
        break;
      case Op.ERROR:
        this.lastError = message;
        this.errors.push(message);
        this.#emit("servererror", message);
        break;
    }
  }

  #onClose(ws, event) {
    if (ws !== this.ws) return;
    this.connected = false;
    clearInterval(this.pingTimer);
    const error = this.lastError;
    const record = { code: event.code, reason: event.reason, error, final: true };
    if (this.stopped) {
      this.#emit("closed", record);
      return;
    }
    this.closes.push({ code: event.code, reason: event.reason });
    const resumable = RESUMABLE.has(event.code) && this.resumeToken !== "";
    const newSession = event.code === 4002 && this.token !== "";
    record.final = !resumable && !newSession;
    this.#emit("closed", record);
    if (resumable) this.#resume();
    else if (newSession) {
      // The resume token was refused: a new session with the login token.
      this.#open(this.#order(), { op: Op.HELLO, protocol: 1, token: this.token }).catch((e) =>
        this.status(`cannot reconnect: ${e.message}`)
      );
    }
  }

  /** The gateways to try: the last one first, then the others of the list. */
  #order() {
    const urls = this.gateways.map((g) => g.url);
    const at = urls.indexOf(this.gatewayUrl);
    return at < 0 ? [this.gatewayUrl, ...urls] : [...urls.slice(at), ...urls.slice(0, at)];
  }

  /** Reconnects with the resume token until it works or the grace period is over. */
  async #resume() {
    const deadline = performance.now() + (this.welcome?.resumeGraceMs ?? 15_000);
    for (let attempt = 1; !this.stopped && performance.now() < deadline; attempt++) {
      this.status(`connection lost; resuming (attempt ${attempt})…`);
      await new Promise((r) => setTimeout(r, Math.min(RESUME_BACKOFF_MS * attempt, 3000)));
      try {
        const list = await requestJson("/gateways");
        if (list.gateways.length > 0) this.gateways = list.gateways;
      } catch {
        // keep the list we have
      }
      try {
        const hello = { op: Op.HELLO, protocol: 1, resumeToken: this.resumeToken };
        await this.#open(this.#order(), hello);
        return; // the answer (WELCOME or a close) arrives on the socket
      } catch {
        // no gateway answered: wait and try again
      }
    }
    if (!this.stopped) this.status("could not resume: the grace period is over");
  }
}

function openSocket(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.onclose = null;
      ws.close();
      reject(new Error(`${url}: no answer in ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onclose = (event) => {
      clearTimeout(timer);
      reject(new Error(`${url}: closed with ${event.code}`));
    };
  });
}
