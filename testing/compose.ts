// Test kit: reads docker-compose.yml and the Dockerfile the way Compose would (YAML merge keys,
// ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation, the image's ENV and HEALTHCHECK) so a
// test can run the same start commands as local processes.
import { parse } from "yaml";

const ROOT = new URL("../", import.meta.url).pathname;

/** One service of the compose file, interpolated. */
export interface ComposeService {
  name: string;
  build?: unknown;
  image?: string;
  command: string[];
  environment: Record<string, string>;
  dependsOn: Record<string, { condition?: string }>;
  raw: Record<string, unknown>;
}

/** The parsed compose file, as a plain object (for schema checks) and as services. */
export interface ComposeFile {
  document: Record<string, unknown>;
  services: ComposeService[];
}

/** Replaces ${VAR}, ${VAR:-default} and ${VAR:?message} from `env`; a missing :? throws. */
export function interpolate(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name, kind, rest) => {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
    if (kind === "-") return rest;
    if (kind === "?") throw new Error(`compose: ${name}: ${rest}`);
    return "";
  });
}

/** Reads docker-compose.yml with `env` for its variables. */
export function readCompose(env: Readonly<Record<string, string>>): ComposeFile {
  const text = Deno.readTextFileSync(`${ROOT}docker-compose.yml`);
  const document = parse(interpolate(text, env), { merge: true }) as Record<string, unknown>;
  const services = Object.entries(document.services as Record<string, Record<string, unknown>>)
    .map(([name, raw]) => ({
      name,
      build: raw.build,
      image: raw.image as string | undefined,
      command: (raw.command as string[] | undefined) ?? [],
      environment: Object.fromEntries(
        Object.entries((raw.environment as Record<string, unknown>) ?? {}).map((
          [k, v],
        ) => [k, String(v)]),
      ),
      dependsOn: (raw.depends_on as Record<string, { condition?: string }>) ?? {},
      raw,
    }));
  // YAML merge keys are resolved; drop the x- anchors' own entries from the document.
  for (const key of Object.keys(document)) if (key.startsWith("x-")) delete document[key];
  return { document, services };
}

/** The Dockerfile's ENV pairs and HEALTHCHECK command (exec form). */
export function readDockerfile(): { env: Record<string, string>; healthcheck: string[] } {
  const text = Deno.readTextFileSync(`${ROOT}Dockerfile`).replace(/\\\n/g, " ");
  const env: Record<string, string> = {};
  let healthcheck: string[] = [];
  for (const line of text.split("\n")) {
    const envLine = /^ENV\s+(.*)$/.exec(line);
    if (envLine) {
      for (const [, key, value] of envLine[1].matchAll(/([A-Z0-9_]+)="([^"]*)"/g)) {
        if (!value.includes("${")) env[key] = value; // PATH extends the image's own
      }
    }
    const check = /^HEALTHCHECK\s.*?CMD\s+(\[.*\])\s*$/.exec(line);
    if (check) healthcheck = JSON.parse(check[1]);
  }
  return { env, healthcheck };
}

/** Services in an order where each comes after what it depends on. */
export function startOrder(services: ComposeService[]): ComposeService[] {
  const done = new Set<string>();
  const out: ComposeService[] = [];
  const visit = (service: ComposeService) => {
    if (done.has(service.name)) return;
    done.add(service.name);
    for (const dependency of Object.keys(service.dependsOn)) {
      visit(services.find((s) => s.name === dependency)!);
    }
    out.push(service);
  };
  services.forEach(visit);
  return out;
}
