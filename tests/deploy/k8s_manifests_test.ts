// The Kubernetes manifests of deploy/k8s/, validated offline: every object against the
// Kubernetes OpenAPI schemas bundled (as compiled ajv validators) in the kubernetes-models
// package, then what ZoneScaler needs of them: probes on /readyz and /healthz, only known ZS_*
// variables, config and secrets that exist, a grace period longer than the drain, workers
// whose ZS_VERSION matches their version label, and a coordinator pair (pod 0 active, pod 1 its
// standby, its command run by sh as the pod would) with each state file on its volume.
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { envVariables } from "../../src/config/env.ts";
import { loadConfig } from "../../src/config/config.ts";

const DIR = new URL("../../deploy/k8s/", import.meta.url);

type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
};

interface Validating {
  validate(): void;
}
const MODELS: Record<string, new (data: never) => Validating> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
};

function validate(doc: Manifest): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  assert.ok(
    Model,
    `${doc.kind} ${doc.metadata?.name}: no schema for ${doc.apiVersion}/${doc.kind}`,
  );
  new Model(doc as never).validate();
}

function load(): Array<{ file: string; doc: Manifest }> {
  const out: Array<{ file: string; doc: Manifest }> = [];
  for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    if (!entry.name.endsWith(".yaml")) continue;
    for (const parsed of parseAllDocuments(Deno.readTextFileSync(new URL(entry.name, DIR)))) {
      assert.deepEqual(parsed.errors, [], `${entry.name} parses`);
      out.push({ file: entry.name, doc: parsed.toJS() as Manifest });
    }
  }
  return out;
}

interface Container {
  name: string;
  env?: Array<
    {
      name: string;
      value?: string;
      valueFrom?: Record<string, { name?: string; optional?: boolean }>;
    }
  >;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
}
const podSpecOf = (doc: Manifest) =>
  (doc.spec as { template: { spec: PodSpec; metadata: { labels: Record<string, string> } } })
    .template;

Deno.test("every manifest in deploy/k8s validates against the Kubernetes schemas", () => {
  const docs = load();
  const kinds = docs.map((d) => d.doc.kind);
  for (const kind of ["ConfigMap", "Secret", "Service", "StatefulSet", "Deployment"]) {
    assert.ok(kinds.includes(kind), `deploy/k8s has a ${kind}`);
  }
  for (const { file, doc } of docs) {
    try {
      validate(doc);
    } catch (error) {
      assert.fail(`${file}: ${doc.kind} ${doc.metadata.name}: ${(error as Error).message}`);
    }
  }
});

Deno.test("the schema validator refuses a broken manifest (it is not a no-op)", () => {
  const deployment = load().find((d) => d.doc.kind === "Deployment")!.doc;
  const broken = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> };
  broken.spec.replicas = "two";
  assert.throws(() => validate(broken), /replicas/);
  const noContainers = structuredClone(deployment) as Manifest;
  delete (podSpecOf(noContainers).spec as Partial<PodSpec>).containers;
  assert.throws(() => validate(noContainers), /containers/);
});

Deno.test("pods probe /readyz and /healthz, use known ZS_* variables and existing config", () => {
  const docs = load().map((d) => d.doc);
  const known = new Set(envVariables().map((v) => v.name));
  const configMaps = new Map(
    docs.filter((d) => d.kind === "ConfigMap").map((d) => [d.metadata.name, d]),
  );
  const secrets = new Map(docs.filter((d) => d.kind === "Secret").map((d) => [d.metadata.name, d]));
  for (const map of configMaps.values()) {
    for (const name of Object.keys(map.data as Record<string, string>)) {
      assert.ok(known.has(name), `ConfigMap ${map.metadata.name}: ${name} is a config variable`);
    }
  }
  for (const secret of secrets.values()) {
    for (const name of Object.keys(secret.stringData as Record<string, string>)) {
      assert.ok(known.has(name), `Secret ${secret.metadata.name}: ${name} is a config variable`);
    }
  }
  const drainMs = Number(
    (configMaps.get("zonescaler-config")!.data as Record<string, string>)
      .ZS_DRAIN_TIMEOUT_MS,
  );
  const workloads = docs.filter((d) => d.kind === "Deployment" || d.kind === "StatefulSet");
  assert.ok(workloads.length >= 4, "coordinator, workers, spares and gateways");
  for (const doc of workloads) {
    const template = podSpecOf(doc);
    const what = `${doc.kind} ${doc.metadata.name}`;
    for (const c of template.spec.containers) {
      const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
      assert.equal(c.readinessProbe?.httpGet?.path, "/readyz", `${what}: readiness on /readyz`);
      assert.equal(c.livenessProbe?.httpGet?.path, "/healthz", `${what}: liveness on /healthz`);
      assert.ok(ports.has(c.readinessProbe!.httpGet!.port), `${what}: probe on a declared port`);
      for (const e of c.env ?? []) assert.ok(known.has(e.name), `${what}: ${e.name} is known`);
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) assert.ok(configMaps.has(from.configMapRef.name), `${what}: config`);
        if (from.secretRef) assert.ok(secrets.has(from.secretRef.name), `${what}: secret`);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
        if (ref && !ref.optional) {
          assert.ok(secrets.has(ref.name!) || configMaps.has(ref.name!), `${what}: ${e.name} ref`);
        }
      }
      const version = template.metadata.labels["app.kubernetes.io/version"];
      const component = template.metadata.labels["app.kubernetes.io/component"];
      if (component === "worker" || component === "spare" || component === "gateway") {
        const set = c.env?.find((e) => e.name === "ZS_VERSION")?.value;
        assert.equal(set, version, `${what}: ZS_VERSION matches the version label`);
        assert.ok(
          doc.metadata.name.endsWith(`-v${version.replaceAll(".", "-")}`),
          `${what}: named by version`,
        );
      }
      if (component === "worker" || component === "spare") {
        // A SIGTERM drain (drainTimeoutMs) plus the 10 s forced-exit margin of main.ts.
        const graceMs = (template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
        assert.ok(graceMs >= drainMs + 10_000, `${what}: grace ${graceMs} ms covers the drain`);
      }
    }
  }
  const coordinator = docs.find((d) => d.kind === "StatefulSet")!;
  const claims = (coordinator.spec as { volumeClaimTemplates?: unknown[] }).volumeClaimTemplates;
  assert.equal(claims?.length, 1, "the coordinator keeps a persistent volume");
});

Deno.test("the coordinator StatefulSet runs a pair: pod 0 active, pod 1 its standby, each with its state on a volume", async () => {
  const docs = load().map((d) => d.doc);
  const set = docs.find((d) => d.kind === "StatefulSet")!;
  const spec = set.spec as {
    replicas: number;
    serviceName: string;
    volumeClaimTemplates: Array<{ metadata: { name: string } }>;
  };
  assert.equal(spec.replicas, 2, "an active and a standby");
  const service = docs.find((d) => d.kind === "Service" && d.metadata.name === spec.serviceName)!;
  assert.equal(
    (service.spec as { publishNotReadyAddresses?: boolean }).publishNotReadyAddresses,
    true,
    "the standby resolves the active before it is ready",
  );
  const container = podSpecOf(set).spec.containers[0] as Container & {
    command: string[];
    args: string[];
    volumeMounts: Array<{ name: string; mountPath: string }>;
  };
  const statePath = container.env!.find((e) => e.name === "ZS_COORDINATOR_STATE")!.value!;
  const mount = container.volumeMounts.find((m) =>
    m.name === spec.volumeClaimTemplates[0].metadata.name
  );
  assert.ok(mount && statePath.startsWith(`${mount.mountPath}/`), `${statePath} on the volume`);

  // The pod's command, run by sh as Kubernetes would, with `deno` standing for the image's.
  const bin = await Deno.makeTempDir({ prefix: "zs-k8s-" });
  try {
    await Deno.writeTextFile(
      `${bin}/deno`,
      '#!/bin/sh\necho "$*|${ZS_STANDBY_OF:-}"\n',
      { mode: 0o755 },
    );
    const start = async (ordinal: number) => {
      const out = await new Deno.Command(container.command[0], {
        args: [...container.command.slice(1), ...container.args],
        env: { PATH: `${bin}:/usr/bin:/bin`, HOSTNAME: `${set.metadata.name}-${ordinal}` },
        clearEnv: true,
        stdout: "piped",
      }).output();
      assert.equal(out.code, 0);
      const [args, standbyOf] = new TextDecoder().decode(out.stdout).trim().split("|");
      return { args, standbyOf };
    };
    const grpc = container.ports!.find((p) => p.name === "grpc")!.containerPort;
    const active = `${set.metadata.name}-0.${spec.serviceName}:${grpc}`;
    assert.deepEqual(await start(0), { args: "run -A main.ts --role=coordinator", standbyOf: "" });
    assert.deepEqual(await start(1), {
      args: "run -A main.ts --role=coordinator",
      standbyOf: active,
    });
    // Workers and gateways dial both pods; the standby's settings load as a pair member.
    const settings = (docs.find((d) => d.metadata.name === "zonescaler-config")!.data) as Record<
      string,
      string
    >;
    const secret = docs.find((d) => d.kind === "Secret")!.stringData as Record<string, string>;
    const config = loadConfig(undefined, { role: "coordinator" }, {
      ...settings,
      ...secret,
      ZS_COORDINATOR_STATE: statePath,
      ZS_STANDBY_OF: active,
    });
    assert.equal(config.standbyOf, active);
    assert.equal(config.coordinatorState, statePath);
    assert.deepEqual(config.coordinator.split(","), [
      active,
      `${set.metadata.name}-1.${spec.serviceName}:${grpc}`,
    ]);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
