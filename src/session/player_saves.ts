// The gateway's side of persistent player data: a registered player's saved fields loaded at
// login (they go to the worker with the join) and the saves workers report, written to its
// account in the account store (SQLite, or the shared PostgreSQL) as msgpack.
import { decode, encode } from "../protocol/msgpack.ts";
import type { Logger } from "../observe/log.ts";
import type { EntityData } from "../world/entity.ts";
import { type AccountStore, MAX_PLAYER_DATA_BYTES } from "./account_store.ts";
import type { PlayerSave } from "./session_messages.ts";

const ACCOUNT = /^account:(\d{1,15})$/;

/** The account id in a login token's subject, or undefined for a guest. */
export function accountIdOf(sub: string): number | undefined {
  const match = ACCOUNT.exec(sub);
  return match ? Number(match[1]) : undefined;
}

/**
 * Loads and saves players' persistent fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "./account_store.ts";
 * const accounts = new AccountStore({ path: ":memory:" });
 * const ann = await accounts.register("ann", "correct horse");
 * const saves = new PlayerSaves(accounts);
 * await saves.save({ account: `account:${ann.id}`, data: { score: 3 } });
 * assert.deepEqual(await saves.load(`account:${ann.id}`), { score: 3 });
 * assert.equal(await saves.load("guest:x"), undefined);
 * await accounts.close();
 * ```
 */
export class PlayerSaves {
  #accounts: AccountStore;
  #log?: Logger;
  /** Saves refused or failed (too large, storage down). */
  failures = 0;

  constructor(accounts: AccountStore, log?: Logger) {
    this.#accounts = accounts;
    this.#log = log;
  }

  /** The saved fields of the account `sub` speaks for (undefined: a guest, or nothing saved). */
  async load(sub: string): Promise<EntityData | undefined> {
    const id = accountIdOf(sub);
    if (id === undefined) return undefined;
    const bytes = await this.#accounts.loadPlayerData(id);
    if (!bytes) return undefined;
    const data = decode(bytes);
    return typeof data === "object" && data !== null && !Array.isArray(data)
      ? data as EntityData
      : undefined;
  }

  /** Writes one save; a failure is logged and counted, never thrown (the game goes on). */
  async save(save: PlayerSave): Promise<void> {
    const id = accountIdOf(save.account);
    if (id === undefined) return;
    try {
      const bytes = encode(save.data);
      if (bytes.byteLength > MAX_PLAYER_DATA_BYTES) {
        throw new RangeError(
          `${bytes.byteLength} bytes of persistent data, over ${MAX_PLAYER_DATA_BYTES}`,
        );
      }
      await this.#accounts.savePlayerData(id, bytes);
    } catch (error) {
      this.failures++;
      this.#log?.error("player.save_failed", { account: save.account, error });
    }
  }
}
