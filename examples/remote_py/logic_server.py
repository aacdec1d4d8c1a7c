"""Orbs, a ZoneScaler game whose logic runs here, in Python, behind the GameLogic gRPC service.

Players steer with INPUT move; orbs drift; a player that touches an orb scores a point (its
`score` data field) and the orb jumps elsewhere. `inputs` counts the INPUTs this server saw for
the player, so a test can check each reached the game exactly once.

    pip install grpcio grpcio-tools
    python3 examples/remote_py/logic_server.py --port 50051
    npm start -- --config examples/remote_py/orbs.json

Every worker opens one Tick stream; the server keeps a mirror of each worker's owned entities
(replaced by a TickIn with `reset`, updated by `changed` and `gone`) and answers every TickIn
with one TickOut of the same tick. A TickIn whose tick it already answered on that worker (sent
again after a reconnect) is answered empty: its events were applied once already.
"""

import argparse
import json
import math
import os
import sys
import time
from concurrent import futures

import grpc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
sys.path.insert(0, PROTO_DIR)
# Messages and stubs from proto/game_logic.proto at run time (grpcio-tools), no generated files.
protos, services = grpc.protos_and_services("game_logic.proto")

WORLD_ID_LIMIT = 2**32


class Worker:
    """What one worker's stream has told us."""

    def __init__(self):
        self.entities = {}  # id -> dict(type, x, y, z, vx, vy, vz, data, player)
        self.answered = 0  # last tick answered on this worker
        self.options = {}


def entity_dict(e):
    return {
        "type": e.type,
        "x": e.x,
        "y": e.y,
        "z": e.z,
        "vx": e.vx,
        "vy": e.vy,
        "vz": e.vz,
        "data": json.loads(e.data_json or "{}"),
        "player": e.player,
    }


class Orbs:
    def __init__(self, delay_ms):
        self.workers = {}
        self.delay = delay_ms / 1000.0

    def step(self, w, request):
        """One TickIn in, one TickOut back."""
        out = protos.TickOut(tick=request.tick)
        if request.reset:
            w.entities = {e.id: entity_dict(e) for e in request.changed}
            w.options = json.loads(request.options_json or "{}")
            return out
        if request.tick <= w.answered:
            return out  # sent again after a reconnect: seen once already
        w.answered = request.tick
        for e in request.changed:
            w.entities[e.id] = entity_dict(e)
        for gone in request.gone:
            w.entities.pop(gone, None)
        orbs = int(w.options.get("orbs", 40))
        speed = float(w.options.get("speed", 30))
        size = list(request.size)
        if request.world_start:
            for i in range(1, orbs + 1):
                x, y = (i * 0.7548776662 % 1) * size[0], (i * 0.5698402910 % 1) * size[1]
                out.spawns.add(type="orb", x=x, y=y, id=i, data_json="{}")
        for pid in request.joined:
            player = w.entities.get(pid)
            if player is not None:
                player["data"].update(score=0, inputs=0)
                out.set.add(id=pid, data_json=json.dumps(player["data"]))
        for i in request.inputs:
            player = w.entities.get(i.entity)
            if player is None:
                continue
            move = list(i.move) + [0, 0]
            player["vx"], player["vy"] = move[0] * speed, move[1] * speed
            player["data"]["inputs"] = player["data"].get("inputs", 0) + 1
            out.set.add(id=i.entity, velocity=[player["vx"], player["vy"]],
                        data_json=json.dumps(player["data"]))
        dt = request.dt
        clamp = lambda v, n: min(max(v, 0.0), size[n] - 1e-6)
        for eid, e in w.entities.items():
            if e["type"] == "orb":
                e["x"] = clamp(e["x"] + math.sin(request.tick / 20 + eid) * 5 * dt, 0)
                e["y"] = clamp(e["y"] + math.cos(request.tick / 20 + eid) * 5 * dt, 1)
                out.set.add(id=eid, position=[e["x"], e["y"]])
        for pid, p in w.entities.items():
            if p["type"] != "player":
                continue
            if p["vx"] or p["vy"]:
                p["x"], p["y"] = clamp(p["x"] + p["vx"] * dt, 0), clamp(p["y"] + p["vy"] * dt, 1)
                out.set.add(id=pid, position=[p["x"], p["y"]])
            for oid, o in w.entities.items():
                if o["type"] == "orb" and (o["x"] - p["x"]) ** 2 + (o["y"] - p["y"]) ** 2 < 9:
                    p["data"]["score"] = p["data"].get("score", 0) + 1
                    o["x"], o["y"] = clamp(o["x"] + 40, 0), clamp(o["y"] - 40, 1)
                    out.set.add(id=pid, data_json=json.dumps(p["data"]))
                    out.set.add(id=oid, position=[o["x"], o["y"]])
        return out

    def Tick(self, requests, context):
        w = None
        for request in requests:
            if w is None or request.reset:
                w = self.workers.setdefault(request.worker, Worker())
            if self.delay:
                time.sleep(self.delay)
            yield self.step(w, request)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=50051, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=0,
                        help="answer each TickIn this late (to see late replies counted)")
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    services.add_GameLogicServicer_to_server(Orbs(args.delay_ms), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(json.dumps({"event": "logic.listening", "port": port}), flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
