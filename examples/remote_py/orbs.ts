// Orbs: a game whose logic runs in examples/remote_py/logic_server.py (Python, grpcio) behind
// the GameLogic gRPC service; this module only names the game and its entity types.
// Run it: python3 examples/remote_py/logic_server.py --port 50051 &
//         npm start -- --config examples/remote_py/orbs.json
import { remoteGame } from "../../mod.ts";

export default remoteGame({ name: "orbs", version: "1", entityTypes: { player: {}, orb: {} } });
