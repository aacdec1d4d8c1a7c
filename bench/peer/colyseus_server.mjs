// The peer-comparison server: ZoneScaler's demo game as one Colyseus 0.18 room, run with Node.
// NPCs wander at 40 units/s (a new random heading with 1 % chance a tick, bouncing off the
// edges), players walk at 60 units/s in the direction of their latest input, and each player's
// entity carries `ack`, the seq of the last input applied, so a bot measures input→ack latency
// exactly as ZoneScaler's bots do. The simulation runs at 20 Hz; patches go out at Colyseus'
// default patch rate (50 ms = 20 Hz).
//
// Two sync modes, chosen by --aoi:
//   --aoi 0   full state sync: every client receives every entity (Colyseus' default);
//   --aoi R   StateView: the entity map is tagged `.view()` and each client's view holds the
//             entities within R of its player, updated every tick (uniform grid of R-sized
//             buckets) — how Colyseus 0.18 filters state per client.
//
//   node bench/peer/colyseus_server.mjs --port 0 --npcs 200 --size 200 --aoi 0
//
// Prints one JSON line {"event":"listening","port":N,...} once it accepts clients.
import { parseArgs } from "node:util";
import { Room, Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { Encoder, schema, StateView, t } from "@colyseus/schema";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    npcs: { type: "string", default: "200" },
    size: { type: "string", default: "200" },
    aoi: { type: "string", default: "0" },
    "tick-hz": { type: "string", default: "20" },
    speed: { type: "string", default: "40" },
    seed: { type: "string", default: "1" },
  },
});
const NPCS = Number(values.npcs);
const SIZE = Number(values.size);
const AOI = Number(values.aoi);
const TICK_HZ = Number(values["tick-hz"]);
const NPC_SPEED = Number(values.speed);
/** Players walk a little faster than NPCs, as in src/demo_game.ts. */
const PLAYER_SPEED = NPC_SPEED * 1.5;

// A world of 10,000 entities encodes to a few hundred KB in full (a joining client's first
// state); the default 16 KB buffer would grow with a warning on every join.
Encoder.BUFFER_SIZE = 4 * 1024 * 1024;

const Entity = schema({
  kind: t.string(),
  x: t.number(),
  y: t.number(),
  /** Seq of the last input applied to this player (0 for NPCs). */
  ack: t.uint32(),
}, "Entity");
const FullState = schema({ entities: t.map(Entity) }, "FullState");
const ViewState = schema({ entities: t.map(Entity).view() }, "ViewState");

/** mulberry32, as src/demo_game.ts: seeded, so both servers start from comparable worlds. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

class DemoRoom extends Room {
  onCreate() {
    this.random = mulberry32(Number(values.seed));
    this.state = AOI > 0 ? new ViewState() : new FullState();
    /** Moving things: { id, entity, vx, vy, npc } in a flat array (no per-tick allocation). */
    this.movers = [];
    /** sessionId → mover of its player. */
    this.players = new Map();
    for (let i = 0; i < NPCS; i++) {
      const entity = new Entity();
      entity.kind = "npc";
      entity.x = this.random() * SIZE;
      entity.y = this.random() * SIZE;
      entity.ack = 0;
      const mover = { id: `n${i + 1}`, entity, vx: 0, vy: 0, npc: true, seen: null };
      this.heading(mover);
      this.movers.push(mover);
      this.state.entities.set(mover.id, entity);
    }
    if (AOI > 0) {
      this.cols = Math.max(1, Math.ceil(SIZE / AOI));
      this.buckets = Array.from({ length: this.cols * this.cols }, () => []);
    }
    this.onMessage("input", (client, message) => {
      const mover = this.players.get(client.sessionId);
      const move = message?.move;
      if (!mover || !Array.isArray(move) || !Number.isInteger(message.seq)) return;
      const dx = Number(move[0]) || 0, dy = Number(move[1]) || 0;
      const length = Math.hypot(dx, dy);
      const scale = length > 1 ? PLAYER_SPEED / length : PLAYER_SPEED;
      mover.vx = dx * scale;
      mover.vy = dy * scale;
      mover.entity.ack = message.seq;
    });
    this.setSimulationInterval((deltaMs) => this.tick(deltaMs / 1000), 1000 / TICK_HZ);
  }

  onJoin(client) {
    const entity = new Entity();
    entity.kind = "player";
    entity.x = this.random() * SIZE;
    entity.y = this.random() * SIZE;
    entity.ack = 0;
    const mover = { id: client.sessionId, entity, vx: 0, vy: 0, npc: false, seen: null };
    this.players.set(client.sessionId, mover);
    this.movers.push(mover);
    this.state.entities.set(client.sessionId, entity);
    if (AOI > 0) {
      client.view = new StateView();
      client.view.add(entity);
      mover.client = client;
      mover.seen = new Set([entity]);
    }
  }

  onLeave(client) {
    const mover = this.players.get(client.sessionId);
    if (!mover) return;
    this.players.delete(client.sessionId);
    this.movers.splice(this.movers.indexOf(mover), 1);
    this.state.entities.delete(client.sessionId);
  }

  heading(mover) {
    const angle = this.random() * Math.PI * 2;
    mover.vx = Math.cos(angle) * NPC_SPEED;
    mover.vy = Math.sin(angle) * NPC_SPEED;
  }

  tick(dt) {
    // A late timer must not teleport anyone: at most two ticks' worth of motion.
    const step = Math.min(dt, 2 / TICK_HZ);
    const top = SIZE - 1e-6;
    for (const m of this.movers) {
      const e = m.entity;
      if (!m.npc) {
        if (m.vx === 0 && m.vy === 0) continue;
        e.x = Math.min(Math.max(e.x + m.vx * step, 0), top);
        e.y = Math.min(Math.max(e.y + m.vy * step, 0), top);
        continue;
      }
      if (this.random() < 0.01) this.heading(m);
      let x = e.x + m.vx * step, y = e.y + m.vy * step;
      if (x < 0 || x >= SIZE) (m.vx = -m.vx, x = Math.min(Math.max(x, 0), top));
      if (y < 0 || y >= SIZE) (m.vy = -m.vy, y = Math.min(Math.max(y, 0), top));
      e.x = x;
      e.y = y;
    }
    if (AOI > 0) this.updateViews();
  }

  /** Puts every entity within AOI of each player into that player's view, and nothing else. */
  updateViews() {
    const { cols, buckets } = this;
    for (const bucket of buckets) bucket.length = 0;
    const cellOf = (v) => Math.min(cols - 1, Math.max(0, Math.floor(v / AOI)));
    for (const m of this.movers) buckets[cellOf(m.entity.y) * cols + cellOf(m.entity.x)].push(m);
    const r2 = AOI * AOI;
    for (const player of this.players.values()) {
      const view = player.client.view, seen = player.seen, me = player.entity;
      const now = new Set();
      const cx = cellOf(me.x), cy = cellOf(me.y);
      for (let y = Math.max(0, cy - 1); y <= Math.min(cols - 1, cy + 1); y++) {
        for (let x = Math.max(0, cx - 1); x <= Math.min(cols - 1, cx + 1); x++) {
          for (const other of buckets[y * cols + x]) {
            const e = other.entity, dx = e.x - me.x, dy = e.y - me.y;
            if (dx * dx + dy * dy <= r2) now.add(e);
          }
        }
      }
      for (const e of now) if (!seen.has(e)) view.add(e);
      for (const e of seen) if (!now.has(e)) view.remove(e);
      player.seen = now;
    }
  }
}

const transport = new WebSocketTransport({ pingInterval: 0 });
const server = new Server({ transport, greet: false, gracefullyShutdown: false });
server.define("demo", DemoRoom);
await server.listen(Number(values.port), "127.0.0.1");
const address = transport.server.address();
console.log(JSON.stringify({
  event: "listening",
  port: address.port,
  npcs: NPCS,
  size: SIZE,
  aoi: AOI,
  node: process.version,
}));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
