// The entity inspector of the diagnostics page: a click on an entity dot asks /api/entity for
// what every worker holds of it, and shows its owner, the workers holding ghosts of it, its
// position, velocity, player session and the game's data fields.
import { getJson } from "./api.js";

function row(label, value) {
  const tr = document.createElement("tr");
  const th = document.createElement("th");
  th.textContent = label;
  const td = document.createElement("td");
  td.textContent = value;
  tr.append(th, td);
  return tr;
}

const fixed = (v) => (typeof v === "number" ? v.toFixed(1) : "–");

/** The panel: {@linkcode show} an entity, or close it. */
export class EntityInspector {
  constructor(root) {
    this.root = root;
    this.title = root.querySelector("#inspect-title");
    this.body = root.querySelector("#inspect-body");
    this.status = root.querySelector("#inspect-status");
    this.latest = null;
    root.querySelector("#inspect-close").addEventListener("click", () => this.close());
  }

  close() {
    this.root.hidden = true;
    this.latest = null;
  }

  /** Looks entity `id` up and shows it; errors are shown in the panel. */
  async show(id) {
    this.root.hidden = false;
    this.title.textContent = `entity #${id}`;
    this.status.textContent = "looking it up…";
    this.status.className = "message";
    try {
      const found = await getJson(`/api/entity?id=${id}`);
      this.latest = found;
      this.#render(found);
      const broken = found.errors.map((e) => `${e.worker}: ${e.message}`).join("; ");
      this.status.textContent = broken;
      this.status.className = broken ? "message warn" : "message";
    } catch (error) {
      this.body.replaceChildren();
      this.status.textContent = error instanceof Error ? error.message : String(error);
      this.status.className = "message error";
    }
  }

  #render(found) {
    const e = found.entity;
    const rows = [row("owner", found.owner ?? "none (moving?)")];
    rows.push(row(
      "ghosts on",
      found.ghosts.length > 0 ? found.ghosts.map((g) => g.worker).join(", ") : "no worker",
    ));
    if (e) {
      this.title.textContent = `${e.type} #${e.id}`;
      rows.push(
        row("cell", String(e.cell)),
        row("position", `${fixed(e.x)}, ${fixed(e.y)}, ${fixed(e.z)}`),
        row("velocity", `${fixed(e.vx)}, ${fixed(e.vy)}, ${fixed(e.vz)}`),
      );
      if (e.player) {
        const away = e.player.detached ? " (disconnected, awaiting resume)" : "";
        rows.push(row("player", `${e.player.name} via ${e.player.gateway}${away}`));
      }
      for (const [key, value] of Object.entries(e.data ?? {})) {
        rows.push(row(`data.${key}`, JSON.stringify(value)));
      }
    }
    this.body.replaceChildren(...rows);
  }
}
