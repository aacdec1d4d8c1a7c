// The coordinator-pair line of the diagnostics page: which coordinator this page is served by
// (active or standby), the term, the log index and the standby's lag; on the standby, a link
// to the active's page. Reads /api/state's `coordinator` object on its own, so it stays apart
// from the rest of the page.
import { getJson } from "./api.js";

const REFRESH_MS = 2000;
const line = document.getElementById("coordinator-role");

function render(pair) {
  line.replaceChildren();
  if (pair.role === "standby") {
    line.className = "message warn";
    line.append(`standby coordinator · term ${pair.term} · log ${pair.index} · `);
    if (pair.activeHttp) {
      const link = document.createElement("a");
      link.href = `${location.protocol}//${pair.activeHttp}/`;
      link.textContent = `the active is ${pair.activeHttp}`;
      line.append(link);
    } else {
      line.append("no active coordinator reached yet");
    }
    return;
  }
  line.className = "message ok";
  const standby = pair.standby
    ? `standby ${pair.standby.address} ${pair.standby.lag} entries behind`
    : "no standby";
  line.textContent = `active coordinator · term ${pair.term} · log ${pair.index} · ${standby}`;
}

async function refresh() {
  try {
    const state = await getJson("/api/state");
    if (state.coordinator) render(state.coordinator);
  } catch {
    // The page's own connection line reports an unreachable coordinator.
  }
  setTimeout(refresh, REFRESH_MS);
}

if (line) void refresh();
