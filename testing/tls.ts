// Test kit: a throwaway CA and one node certificate it signs (for 127.0.0.1 and localhost), made
// with openssl in a temp dir; close() removes them.
/** PEM file paths of a generated CA and node certificate. */
export interface TestCertificates {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  close(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** Generates the CA and a node certificate valid for 127.0.0.1 / localhost for a day. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "zs-tls-" });
  try {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=zonescaler test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ], dir);
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=zonescaler node",
      "-keyout",
      "node.key",
      "-out",
      "node.csr",
    ], dir);
    await Deno.writeTextFile(
      `${dir}/node.ext`,
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "node.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "node.ext",
      "-out",
      "node.pem",
    ], dir);
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return {
    dir,
    ca: `${dir}/ca.pem`,
    cert: `${dir}/node.pem`,
    key: `${dir}/node.key`,
    close: () => Deno.remove(dir, { recursive: true }),
  };
}
