// Test harness: headless Chromium (Debian's package) driven by playwright-core. Outside CI a
// missing browser skips the browser tests with a message; with CI=true it fails them.
import { type Browser, chromium } from "playwright-core";

/** Where the browser is; `CHROMIUM_PATH` overrides Debian's location. */
export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const IN_CI = Deno.env.get("CI") === "true";

function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

/** True when browser tests should be skipped (no browser, not in CI); says why once. */
export function skipBrowserTests(): boolean {
  if (chromiumInstalled() || IN_CI) return false;
  console.warn(
    `Skipping browser tests: no Chromium at ${CHROMIUM_PATH} ` +
      "(apt-get install chromium, or set CHROMIUM_PATH). With CI=true they fail instead.",
  );
  return true;
}

/** Launches headless Chromium; throws with the path when it cannot. */
export async function launchChromium(): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  } catch (error) {
    throw new Error(`Cannot launch Chromium at ${CHROMIUM_PATH}`, { cause: error });
  }
}

/** The directory for screenshots (`test-output/<name>/`, gitignored), created if needed. */
export function outputDir(name: string): string {
  const dir = new URL(`../test-output/${name}/`, import.meta.url).pathname;
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}
