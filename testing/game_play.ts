// Playing an example game through the real protocol: start role all with `--game`, log in a
// guest, and follow its own entity's data in the DIFFs.
import type { DiffMessage, ServerMessage } from "../src/protocol/client_protocol.ts";
import { NodeProcess } from "./node_process.ts";
import { guestToken, TestClient } from "./ws_client.ts";

/** A started all-in-one node running a game module, with one logged-in client. */
export interface GamePlay {
  node: NodeProcess;
  client: TestClient;
  base: string;
  entity: number;
  /** Stops the client and the node (also on failure). */
  close(): Promise<void>;
}

/**
 * Starts `npm start -- --game <module>` (config/all.json unless `--config` is in `extra`) on
 * free ports, and logs in one guest.
 */
export async function playGame(module: string, ...extra: string[]): Promise<GamePlay> {
  const node = new NodeProcess(module, [
    ...(extra.includes("--config") ? [] : ["--config", "config/all.json"]),
    "--port",
    "0",
    ...(extra.includes("--storage") ? [] : ["--storage", ":memory:"]),
    "--game",
    module,
    ...extra,
  ]);
  let client: TestClient | undefined;
  try {
    const ready = await node.waitFor("all.ready", 60_000);
    const base = `http://127.0.0.1:${ready.port}`;
    client = new TestClient(`ws://127.0.0.1:${ready.port}/ws`);
    const welcome = await client.hello({ token: await guestToken(base, "tester") });
    const started = client;
    return {
      node,
      client,
      base,
      entity: welcome.entity,
      async close() {
        started.close();
        await node.stop();
      },
    };
  } catch (error) {
    client?.close();
    await node.kill();
    throw error;
  }
}

/** The data of entity `id` carried by a DIFF (enter or update), if any. */
export function dataIn(message: ServerMessage, id: number): Record<string, unknown> | undefined {
  if (message.op !== 6) return undefined;
  const diff = message as DiffMessage;
  for (const e of diff.enter) if (e[0] === id && e[5]) return e[5];
  for (const u of diff.update) if (u[0] === id && u[4]) return u[4];
  return undefined;
}

/** The latest position of entity `id` in a client's DIFFs. */
export function positionIn(messages: readonly ServerMessage[], id: number): number[] | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.op !== 6) continue;
    const diff = m as DiffMessage;
    for (const u of diff.update) if (u[0] === id) return [u[1], u[2], u[3]];
    for (const e of diff.enter) if (e[0] === id) return [e[2], e[3], e[4]];
  }
  return undefined;
}
