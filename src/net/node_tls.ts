// TLS of this node: the certificate and key it serves (gRPC between nodes, and HTTPS/WSS on the
// coordinator and gateways) and the CA it trusts for its peers. Read once from the `tls.*` paths
// at start-up; one setting per process (per thread in role all), since one process is one node.
import type { TlsConfig } from "../config/schema.ts";

/** PEM text of this node's certificate, key and the CA that signed its peers'. */
export interface NodeTls {
  cert: string;
  key: string;
  ca: string;
}

let current: NodeTls | undefined;

/** Reads the PEM files named by `tls` (all "" = TLS off, undefined). */
export function loadNodeTls(tls: TlsConfig): NodeTls | undefined {
  if (tls.cert === "") return undefined;
  const read = (what: string, path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      throw new Error(
        `Cannot read tls.${what} ${JSON.stringify(path)}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };
  return { cert: read("cert", tls.cert), key: read("key", tls.key), ca: read("ca", tls.ca) };
}

/** Sets this process's TLS (undefined: cleartext). Called by each role as it starts. */
export function useNodeTls(tls: NodeTls | undefined): void {
  current = tls;
}

/** This process's TLS, undefined when off. */
export function nodeTls(): NodeTls | undefined {
  return current;
}

/** The HTTP/2 client of gRPC calls to peers: verifying them by the CA, presenting our cert. */
export function peerHttpClient(): Deno.HttpClient {
  const tls = current;
  return tls
    ? Deno.createHttpClient({
      http1: false,
      http2: true,
      caCerts: [tls.ca],
      cert: tls.cert,
      key: tls.key,
    })
    : Deno.createHttpClient({ http1: false, http2: true });
}

/** `https` with TLS, `http` without. */
export function peerScheme(): "http" | "https" {
  return current ? "https" : "http";
}
