// The client SDK's public surface, one module for mod.ts and for the browser bundle
// (static/play/sdk.js, built by `npm run build:sdk`): the GameClient, its world, events and
// errors, the backoff, and the protocol's ids and message types.
export { GameClient, type GameClientOptions, type Intent } from "./game_client.ts";
export {
  type ClientClose,
  ClientEvents,
  type GameClientEvents,
  type Listener,
  ProtocolError,
  RoomError,
} from "./client_events.ts";
export { type RoomAnswer, type RoomAsk, RoomRequests } from "./room_requests.ts";
export {
  type ClientEntity,
  ClientWorld,
  StreamProblem,
  type StreamProblemListener,
} from "./client_world.ts";
export {
  type BackoffOptions,
  type ClientTimers,
  DEFAULT_BACKOFF,
  realTimers,
  ReconnectBackoff,
} from "./reconnect_backoff.ts";
export {
  type ClusterLogin,
  type ClusterLoginOptions,
  fetchGateways,
  login,
  LoginApiError,
  type LoginBody,
  loginToCluster,
} from "./login_client.ts";
export { ConnectError } from "./session_socket.ts";
export { decodeServerFrame, encodeClientFrame } from "./client_codec.ts";
export {
  ChatChannel,
  type ChatMessage,
  type ClientMessage,
  CloseCode,
  type DiffMessage,
  type EnterRecord,
  type ErrorMessage,
  type FrameFormat,
  type Move,
  Op,
  PROTOCOL_VERSION,
  type RoomRequest,
  type RoomRow,
  type RoomsMessage,
  type ServerMessage,
  type TravelMessage,
  type UpdateRecord,
  type WelcomeMessage,
} from "../protocol/client_protocol.ts";
