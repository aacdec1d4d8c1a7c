// Test kit: a private PostgreSQL server (Debian's postgresql 15) on a free loopback port and a
// temporary data directory, run as user postgres when we are root, stopped and removed by close().
import { existsSync } from "node:fs";

/** Where Debian puts the server binaries. */
export const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

/** A running private PostgreSQL server. */
export interface PostgresServer {
  /** `postgres://zs@127.0.0.1:<port>/zonescaler` (trust auth on loopback, no password). */
  url: string;
  port: number;
  /** Stops the server (fast shutdown) and removes its data directory. */
  close(): Promise<void>;
}

/** True when the PostgreSQL binaries are installed (`.ci/run` installs them when absent). */
export function postgresInstalled(): boolean {
  return existsSync(`${POSTGRES_BIN}/initdb`) && existsSync(`${POSTGRES_BIN}/pg_ctl`);
}

async function run(args: string[], asPostgres: boolean): Promise<string> {
  const [command, ...rest] = asPostgres ? ["runuser", "-u", "postgres", "--", ...args] : args;
  const output = await new Deno.Command(command, {
    args: rest,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${args[0]} failed (${output.code}): ${text.trim()}`);
  return text;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts a private server with database `zonescaler` owned by user `zs`. Throws with the
 * server's own output when initdb or start-up fails.
 */
export async function startPostgres(): Promise<PostgresServer> {
  if (!postgresInstalled()) {
    throw new Error(`PostgreSQL is not installed (${POSTGRES_BIN}): apt-get install postgresql`);
  }
  const asPostgres = Deno.uid() === 0; // the server refuses to run as root
  const dir = await Deno.makeTempDir({ prefix: "zs-pg-" });
  const data = `${dir}/data`;
  if (asPostgres) await run(["chown", "postgres", dir], false);
  const port = freePort();
  const stop = async () => {
    await run([`${POSTGRES_BIN}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"], asPostgres)
      .catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await run(
      [`${POSTGRES_BIN}/initdb`, "-D", data, "-U", "zs", "-A", "trust", "-E", "UTF8", "--no-sync"],
      asPostgres,
    );
    await run([
      `${POSTGRES_BIN}/pg_ctl`,
      "-D",
      data,
      "-l",
      `${dir}/server.log`,
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start",
    ], asPostgres);
    await run([
      `${POSTGRES_BIN}/../bin/createdb`,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "zs",
      "zonescaler",
    ], asPostgres);
  } catch (error) {
    const log = await Deno.readTextFile(`${dir}/server.log`).catch(() => "");
    await stop();
    throw new Error(`Cannot start PostgreSQL: ${(error as Error).message}\n${log}`, {
      cause: error,
    });
  }
  return { url: `postgres://zs@127.0.0.1:${port}/zonescaler`, port, close: stop };
}
