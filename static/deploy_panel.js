// The deploy panel (static/deploys.html): versions with their nodes, cells and sessions, the
// deploy in progress with its progress (cells on the version it moves to), and the buttons of
// the deploy API (docs/api.md). Polls GET /api/deploys once a second; the operator token comes
// from ?token= like the diagnostics page (api.js).
import { getJson, postJson } from "./api.js";

const $ = (id) => document.getElementById(id);
const message = (text, kind = "") => {
  $("deploy-message").textContent = text;
  $("deploy-message").className = `message ${kind}`;
};

/** The latest /api/deploys document, for tests and the console. */
globalThis.zsDeploys = { state: null, polls: 0 };

function cellText(value) {
  const td = document.createElement("td");
  td.textContent = String(value);
  return td;
}

function render(state) {
  globalThis.zsDeploys.state = state;
  globalThis.zsDeploys.polls++;
  const run = state.current;
  $("deploy-summary").textContent = `live ${state.live || "-"} · ${state.cells} cells · ` +
    `${state.cellsPerSecond} cells/s`;
  const target = run && (run.state === "rolling_back" ? run.from : run.version);
  const onTarget = state.versions.find((v) => v.version === target)?.cells ?? 0;
  $("deploy-run").textContent = run
    ? `deploy of ${run.version} from ${run.from || "-"}: ${run.state}, ${run.moves} moves, ` +
      `${onTarget}/${state.cells} cells on ${target}`
    : `no deploy in progress${
      state.runs.length ? `; last: ${state.runs.at(-1).version} ${state.runs.at(-1).state}` : ""
    }`;
  $("deploy-progress").value = run ? onTarget / Math.max(1, state.cells) : 0;
  $("deploy-start").disabled = Boolean(run);
  $("deploy-pause").disabled = run?.state !== "running";
  $("deploy-resume").disabled = run?.state !== "paused";
  $("deploy-abort").disabled = !run;
  $("deploy-rollback").disabled = !run || run.state === "rolling_back";
  const body = $("versions-body");
  body.replaceChildren(...state.versions.map((v) => {
    const tr = document.createElement("tr");
    tr.dataset.version = v.version;
    tr.dataset.state = v.state;
    tr.append(
      cellText(v.version),
      cellText(v.state),
      cellText(v.gameVersion || "-"),
      cellText(v.workers),
      cellText(v.gateways),
      cellText(v.cells),
      cellText(v.sessions),
    );
    return tr;
  }));
}

async function poll() {
  try {
    render(await getJson("/api/deploys"));
  } catch (error) {
    message(error.message, "error");
  }
}

async function act(path, body) {
  try {
    const run = await postJson(path, body);
    message(`run ${run.id} of ${run.version}: ${run.state}`, "ok");
  } catch (error) {
    message(error.message, "error");
  }
  await poll();
}

$("deploy-start").addEventListener("click", () => {
  act("/api/deploys", { version: $("deploy-version").value.trim() });
});
for (const action of ["pause", "resume", "abort", "rollback"]) {
  $(`deploy-${action}`).addEventListener("click", () => act(`/api/deploys/current/${action}`));
}
await poll();
setInterval(poll, 1000);
