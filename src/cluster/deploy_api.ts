// The coordinator's deploy API over HTTP (docs/api.md): the deploy state, starting a deploy of
// a version, and pausing, resuming, aborting and rolling back the one in progress. Bodies are
// small JSON objects validated strictly; src/cluster/control_api.ts puts it behind the token.
import { CodedError, ErrorCode } from "../errors.ts";
import { json, methodNotAllowed } from "../net/http.ts";
import type { Logger } from "../observe/log.ts";
import { readJsonObject } from "../protocol/json_body.ts";
import type { Deploys } from "./deploys.ts";

const ACTION = /^\/api\/deploys\/current\/(pause|resume|abort|rollback)$/;
const VERSION_TEXT = /^[A-Za-z0-9_.+-]{1,64}$/;

/** True for the paths this API serves. */
export function isDeployPath(pathname: string): boolean {
  return pathname === "/api/deploys" || ACTION.test(pathname);
}

/** Handles a request to one of {@linkcode isDeployPath}'s paths. */
export async function deployRoute(
  deploys: Deploys,
  log: Logger,
  request: Request,
  url: URL,
): Promise<Response> {
  const action = ACTION.exec(url.pathname)?.[1];
  if (url.pathname === "/api/deploys" && (request.method === "GET" || request.method === "HEAD")) {
    return json(deploys.state());
  }
  if (request.method !== "POST") {
    return methodNotAllowed(
      request.method,
      url.pathname,
      action ? ["POST"] : ["GET", "HEAD", "POST"],
    );
  }
  if (!action) {
    const body = await readJsonObject(request, ["version"]);
    const version = body.version;
    if (typeof version !== "string" || !VERSION_TEXT.test(version)) {
      throw new CodedError(
        ErrorCode.BAD_REQUEST,
        `Cannot deploy: "version" must be 1-64 characters of A-Z a-z 0-9 . _ + -, got ${
          JSON.stringify(version) ?? "nothing"
        }`,
      );
    }
    const run = deploys.start(version);
    log.info("api.deploy", { version, from: run.from, run: run.id });
    return json(run, 202);
  }
  await readJsonObject(request, []);
  const run = action === "pause"
    ? deploys.pause()
    : action === "resume"
    ? deploys.resume()
    : action === "abort"
    ? deploys.abort()
    : deploys.rollback();
  log.info(`api.deploy_${action}`, { version: run.version, run: run.id });
  return json(run, action === "rollback" ? 202 : 200);
}
