// ZoneScaler's public entry: the game API (write a game), the embedding API (run nodes from
// code) and the client SDK (talk to a gateway). Everything else is internal.
/**
 * ZoneScaler: a distributed game-server framework. Write a game with {@linkcode defineGame},
 * run it with `npm start -- --game ./my_game.ts` or from code with {@linkcode startNode}, and
 * play it from TypeScript or a browser with the client SDK's {@linkcode GameClient}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineGame } from "./mod.ts";
 * const game = defineGame({
 *   name: "tag",
 *   version: "1",
 *   entityTypes: { player: {} },
 *   onJoin(_ctx, player) {
 *     player.data.it = false;
 *   },
 * });
 * assert.equal(game.name, "tag");
 * ```
 *
 * @module
 */

// The game API.
export {
  defineGame,
  type EntityTypeOptions,
  type GameContext,
  type GameDefinition,
  type GameOptionsContext,
  type InstanceInfo,
  type InstanceMode,
  type InteractionEvent,
  WORLD_ID_LIMIT,
} from "./src/sim/game.ts";
export type { Entity, EntityData, EntityState } from "./src/world/entity.ts";
export type { PlayerInput } from "./src/session/session_messages.ts";
export { demoGame, type DemoOptions } from "./src/games/demo.ts";
export { remoteGame, type RemoteGameOptions, type RemoteOptions } from "./src/games/remote_game.ts";

// The embedding API.
export { type NodeHandle, startNode, type StartNodeOptions } from "./src/embed/start_node.ts";
export { type Config, parseConfig } from "./src/config/config.ts";
export { ConfigError, ErrorCode } from "./src/errors.ts";

// The client SDK: a typed client of the protocol in docs/protocol.md (also bundled for browsers
// as static/play/sdk.js).
export {
  type BackoffOptions,
  ChatChannel,
  type ChatMessage,
  type ClientClose,
  type ClientEntity,
  type ClientMessage,
  type ClientTimers,
  ClientWorld,
  CloseCode,
  ConnectError,
  decodeServerFrame,
  DEFAULT_BACKOFF,
  type DiffMessage,
  encodeClientFrame,
  type EnterRecord,
  type ErrorMessage,
  fetchGateways,
  type FrameFormat,
  GameClient,
  type GameClientEvents,
  type GameClientOptions,
  type Intent,
  login,
  LoginApiError,
  type LoginBody,
  type Move,
  Op,
  PROTOCOL_VERSION,
  ProtocolError,
  ReconnectBackoff,
  type RoomAnswer,
  type RoomAsk,
  RoomError,
  type RoomRequest,
  type RoomRow,
  type RoomsMessage,
  type ServerMessage,
  StreamProblem,
  type TravelMessage,
  type UpdateRecord,
  type WelcomeMessage,
} from "./src/client/sdk.ts";
