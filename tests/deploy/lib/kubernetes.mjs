// The invariants of rendered Kubernetes manifests: schemas, container
// hardening, resources, probes that reach the gRPC health service on the
// port the binary listens on, drain times, the Services components reach
// each other through, the autoscaler, the disruption budget and the network
// policies.

import {
  ADDRESS_FLAGS,
  ROUND_ROBIN,
  SERVERS,
  SHUTDOWN_GRACE_SECONDS,
  binaryOfImage,
  imageVersion,
} from "./contract.mjs";
import { effectiveFlags, isLoopback, parseAddresses } from "./flags.mjs";
import { checkNetworkPolicies } from "./network.mjs";
import { schemaProblems } from "./schema.mjs";
import {
  CACHE_FILES,
  CLIENT_FILES,
  FILE_FLAGS,
  OPTIONAL_FILES,
  SERVER_FILES,
  fileFlagValue,
  inlineSecretProblems,
  insecureProblems,
  redisPasswordProblems,
} from "./security.mjs";
import { resolvePort, selectorMatches, serviceSelects } from "./selectors.mjs";
import { parseDuration, parseQuantity, parseRedisSize } from "./units.mjs";

const LONG_RUNNING = new Set([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
]);

function nameOf(object) {
  return `${object.kind}/${object.metadata?.name}`;
}

// The pod template of a workload, or undefined for other kinds.
function podTemplateOf(object) {
  switch (object.kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return object.spec?.template;
    case "CronJob":
      return object.spec?.jobTemplate?.spec?.template;
    case "Pod":
      return { metadata: object.metadata, spec: object.spec };
    default:
      return undefined;
  }
}

class Workload {
  constructor(object) {
    this.object = object;
    this.name = nameOf(object);
    this.namespace = object.metadata?.namespace;
    const template = podTemplateOf(object) ?? {};
    this.labels = template.metadata?.labels ?? {};
    this.pod = template.spec ?? {};
    this.containers = this.pod.containers ?? [];
    this.longRunning = LONG_RUNNING.has(object.kind);
    // Per container name: { binary, flags, port }.
    this.runs = new Map();
  }

  // The containers that run `binary` ("redis" for the cache).
  running(binary) {
    return this.containers.filter(
      (container) => this.runs.get(container.name)?.binary === binary,
    );
  }
}

function preStopSeconds(lifecycle) {
  const preStop = lifecycle?.preStop;
  if (preStop === undefined) return undefined;
  if (preStop.sleep?.seconds !== undefined)
    return Number(preStop.sleep.seconds);
  const command = preStop.exec?.command ?? [];
  if (/(^|\/)sleep$/.test(command[0]) && command.length === 2) {
    return Number(command[1]);
  }
  if (/(^|\/)(ba)?sh$/.test(command[0]) && command[1] === "-c") {
    const match = /^\s*sleep\s+(\d+(?:\.\d+)?)\s*$/.exec(command[2] ?? "");
    if (match) return Number(match[1]);
  }
  return NaN;
}

class Checker {
  constructor(objects, binaries, options) {
    this.objects = objects;
    this.binaries = binaries;
    this.options = options;
    this.problems = [];
    this.workloads = objects
      .filter((object) => podTemplateOf(object) !== undefined)
      .map((object) => new Workload(object));
    this.services = objects.filter((object) => object.kind === "Service");
    this.configMaps = new Map(
      objects
        .filter((object) => object.kind === "ConfigMap")
        .map((object) => [object.metadata?.name, object.data ?? {}]),
    );
    // Connections the configuration makes: { from, to, port }.
    this.edges = [];
  }

  report(where, message) {
    this.problems.push(`${where}: ${message}`);
  }

  async run() {
    for (const object of this.objects) {
      for (const problem of await schemaProblems(object)) {
        this.report(nameOf(object), problem);
      }
      this.checkSecret(object);
    }
    for (const workload of this.workloads) this.readContainers(workload);
    for (const workload of this.workloads) this.checkWorkload(workload);
    for (const workload of this.workloads) this.checkAddresses(workload);
    for (const workload of this.workloads) this.checkReachable(workload);
    this.checkAutoscalers();
    this.checkDisruptionBudgets();
    for (const problem of checkNetworkPolicies(
      this.objects.filter((object) => object.kind === "NetworkPolicy"),
      this.workloads,
      this.edges,
    )) {
      this.problems.push(problem);
    }
    return this.problems;
  }

  // A Secret in the manifests carries its values in the repository, unless a
  // generator made it from files git ignores (checked where it is declared).
  checkSecret(object) {
    if (object.kind !== "Secret") return;
    const name = object.metadata?.name ?? "";
    const generated = (this.options.generatedSecrets ?? []).some(
      (generator) => name === generator || name.startsWith(`${generator}-`),
    );
    if (generated) return;
    const keys = [
      ...Object.keys(object.data ?? {}),
      ...Object.keys(object.stringData ?? {}),
    ];
    if (keys.length > 0) {
      this.report(
        nameOf(object),
        `carries ${keys.join(", ")} in the manifests, a committed secret; ` +
          "let cert-manager or scripts/deploy-secrets.sh create it",
      );
    }
  }

  // What each container runs and with which flags.
  readContainers(workload) {
    for (const container of this.containers(workload)) {
      const where = `${workload.name} container ${container.name}`;
      const binaryName = binaryOfImage(container.image ?? "");
      const environment = this.environmentOf(container);
      const binary = this.binaries.get(binaryName);
      const commandLine = [
        ...(container.command ?? []),
        ...(container.args ?? []),
      ];
      for (const problem of [
        ...inlineSecretProblems(environment),
        ...insecureProblems(environment, commandLine),
      ]) {
        this.report(where, problem);
      }
      if (binary === undefined) {
        for (const [name] of environment) {
          if (name.startsWith("THB_")) {
            this.report(
              where,
              `${name} is set, but ${container.image} runs no thb binary`,
            );
          }
        }
        workload.runs.set(container.name, { binary: binaryName });
        continue;
      }
      // The images' entrypoint is the binary: args are its command line.
      const argv = container.command
        ? [...container.command.slice(1), ...(container.args ?? [])]
        : (container.args ?? []);
      const flags = effectiveFlags(binary, environment, argv, (message) =>
        this.report(where, message),
      );
      const port = Number(flags.get("port"));
      const healthPort = Number(flags.get("health_port"));
      workload.runs.set(container.name, {
        binary: binaryName,
        flags,
        port,
        healthPort,
      });
    }
  }

  containers(workload) {
    return [...workload.containers, ...(workload.pod.initContainers ?? [])];
  }

  environmentOf(container) {
    const environment = (container.env ?? []).map((variable) => [
      variable.name,
      variable.value,
    ]);
    for (const source of container.envFrom ?? []) {
      const data = this.configMaps.get(source.configMapRef?.name);
      for (const [name, value] of Object.entries(data ?? {})) {
        environment.push([`${source.prefix ?? ""}${name}`, value]);
      }
    }
    return environment;
  }

  checkWorkload(workload) {
    this.checkServiceAccount(workload);
    for (const container of this.containers(workload)) {
      const where = `${workload.name} container ${container.name}`;
      this.checkHardening(workload, container, where);
      this.checkResources(container, where);
      if (this.options.pinnedImages) this.checkPinned(container, where);
    }
    for (const container of workload.containers) {
      const where = `${workload.name} container ${container.name}`;
      const run = workload.runs.get(container.name);
      if (workload.longRunning) {
        for (const probe of ["livenessProbe", "readinessProbe"]) {
          if (container[probe] === undefined) this.report(where, `no ${probe}`);
        }
      }
      if (SERVERS[run.binary] !== undefined) {
        this.checkServer(workload, container, run, where);
      }
      if (run.binary === "thbctl") {
        this.checkFiles(workload, container, run, CLIENT_FILES, where);
      }
      if (run.binary === "redis") this.checkCache(container, where);
    }
  }

  // Its own ServiceAccount, and no API token in a pod that never calls the
  // API server.
  checkServiceAccount(workload) {
    const name = workload.pod.serviceAccountName;
    const account = this.objects.find(
      (object) =>
        object.kind === "ServiceAccount" && object.metadata?.name === name,
    );
    if (name === undefined || name === "default") {
      this.report(workload.name, "runs as the default ServiceAccount");
    } else if (account === undefined) {
      this.report(
        workload.name,
        `serviceAccountName ${name} is no ServiceAccount of the manifests`,
      );
    }
    const automount =
      workload.pod.automountServiceAccountToken ??
      account?.automountServiceAccountToken;
    if (automount !== false) {
      this.report(workload.name, "mounts a ServiceAccount token it never uses");
    }
  }

  checkHardening(workload, container, where) {
    const pod = workload.pod.securityContext ?? {};
    const own = container.securityContext ?? {};
    if ((own.runAsNonRoot ?? pod.runAsNonRoot) !== true) {
      this.report(where, "securityContext.runAsNonRoot is not true");
    }
    const user = own.runAsUser ?? pod.runAsUser;
    if (user === undefined || user === 0) {
      this.report(where, "securityContext.runAsUser is not a non-zero uid");
    }
    if (own.readOnlyRootFilesystem !== true) {
      this.report(where, "securityContext.readOnlyRootFilesystem is not true");
    }
    if (own.allowPrivilegeEscalation !== false) {
      this.report(
        where,
        "securityContext.allowPrivilegeEscalation is not false",
      );
    }
    if (own.privileged === true) {
      this.report(where, "securityContext.privileged is true");
    }
    if (!(own.capabilities?.drop ?? []).includes("ALL")) {
      this.report(where, "securityContext.capabilities.drop does not hold ALL");
    }
    if ((own.capabilities?.add ?? []).length > 0) {
      this.report(where, "securityContext.capabilities.add is not empty");
    }
    const seccomp = (own.seccompProfile ?? pod.seccompProfile)?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
      this.report(
        where,
        "securityContext.seccompProfile is not RuntimeDefault",
      );
    }
  }

  checkResources(container, where) {
    const resources = container.resources ?? {};
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        const value = resources[kind]?.[resource];
        if (value === undefined) {
          this.report(where, `no resources.${kind}.${resource}`);
        } else if (Number.isNaN(parseQuantity(value))) {
          this.report(
            where,
            `resources.${kind}.${resource} ${value} is not a quantity`,
          );
        }
      }
    }
    for (const resource of ["cpu", "memory"]) {
      const request = parseQuantity(resources.requests?.[resource]);
      const limit = parseQuantity(resources.limits?.[resource]);
      if (request > limit) {
        this.report(
          where,
          `resources.requests.${resource} ${resources.requests[resource]} ` +
            `is above the limit ${resources.limits[resource]}`,
        );
      }
    }
  }

  checkPinned(container, where) {
    const version = imageVersion(container.image ?? "");
    if (version === "" || version === "latest") {
      this.report(
        where,
        `image ${container.image} is not pinned to a tag or digest`,
      );
    }
  }

  // A thb server: listens where the kubelet and the other pods reach it,
  // answers its probes on its gRPC health service, drains before it is
  // killed, and keeps its SQLite file on a persistent volume.
  checkServer(workload, container, run, where) {
    const { flags, port, healthPort } = run;
    const server = SERVERS[run.binary];
    const required = [...SERVER_FILES];
    if (flags.has("redis") && fileFlagValue(flags, "redis") !== "") {
      required.push(...CACHE_FILES);
    }
    this.checkFiles(workload, container, run, required, where);
    if (!Number.isInteger(healthPort) || healthPort <= 0) {
      this.report(
        where,
        `its health port ${flags.get("health_port")} is not a fixed port`,
      );
    } else if (
      !(container.ports ?? []).some((p) => p.containerPort === healthPort)
    ) {
      this.report(
        where,
        `declares no containerPort ${healthPort}, its health port`,
      );
    }
    if (!Number.isInteger(port) || port <= 0) {
      this.report(
        where,
        `listens on port ${flags.get("port")}, not a fixed port`,
      );
    }
    if (isLoopback(flags.get("host"))) {
      this.report(
        where,
        `listens on ${flags.get("host")}, which probes and other pods cannot ` +
          `reach; set ${this.binaries.get(run.binary).variableOf("host")}`,
      );
    }
    if (!(container.ports ?? []).some((p) => p.containerPort === port)) {
      this.report(
        where,
        `declares no containerPort ${port}, the port it listens on`,
      );
    }
    const probes = {
      livenessProbe: "",
      readinessProbe: server.health,
      startupProbe: undefined,
    };
    if (server.needsStartupProbe && container.startupProbe === undefined) {
      this.report(where, "no startupProbe (its first sync may take a while)");
    }
    for (const [probe, service] of Object.entries(probes)) {
      const spec = container[probe];
      if (spec === undefined) continue;
      if (spec.grpc === undefined) {
        this.report(where, `${probe} is not a gRPC health probe`);
        continue;
      }
      if (spec.grpc.port === port) {
        this.report(
          where,
          `${probe} asks port ${port}, the TLS main port, not the health ` +
            `port ${healthPort}`,
        );
      } else if (spec.grpc.port !== healthPort) {
        this.report(
          where,
          `${probe} asks port ${JSON.stringify(spec.grpc.port)}, not the ` +
            `health port ${healthPort}`,
        );
      }
      const asked = spec.grpc.service ?? "";
      if (service !== undefined && asked !== service) {
        this.report(
          where,
          `${probe} asks the health of ${JSON.stringify(asked)}, not ` +
            `${JSON.stringify(service)}`,
        );
      }
      if (probe === "startupProbe" && asked !== "" && asked !== server.health) {
        this.report(
          where,
          `startupProbe asks the health of unknown service ${asked}`,
        );
      }
    }
    if (workload.longRunning)
      this.checkDrain(workload, container, flags, where);
    if (flags.has("db")) this.checkDatabase(workload, container, flags, where);
  }

  // Each file the process must be given is on a volume from a Secret (or,
  // where it is no secret, a ConfigMap), mounted as a directory so that a
  // renewed certificate reaches it.
  checkFiles(workload, container, run, required, where) {
    for (const flag of [...required, ...OPTIONAL_FILES]) {
      const { variable, from } = FILE_FLAGS[flag];
      const value = fileFlagValue(run.flags, flag);
      if (value === "") {
        if (required.includes(flag))
          this.report(where, `${variable} is not set`);
        continue;
      }
      const mount = (container.volumeMounts ?? []).find((m) =>
        value.startsWith(`${m.mountPath.replace(/\/$/, "")}/`),
      );
      const volume = (workload.pod.volumes ?? []).find(
        (v) => v.name === mount?.name,
      );
      const sources = volume?.projected
        ? (volume.projected.sources ?? [])
        : [volume ?? {}];
      const fromSecret =
        sources.length > 0 && sources.every((v) => v.secret !== undefined);
      const fromConfig =
        sources.length > 0 &&
        sources.every(
          (v) => v.secret !== undefined || v.configMap !== undefined,
        );
      if (!(from === "secret" ? fromSecret : fromConfig)) {
        this.report(
          where,
          `${variable} ${value} is not on a volume from a ` +
            (from === "secret" ? "Secret" : "Secret or ConfigMap"),
        );
      } else if (
        mount.subPath !== undefined ||
        mount.subPathExpr !== undefined
      ) {
        this.report(
          where,
          `${variable} ${value} is mounted with subPath, so a renewed file ` +
            "never reaches the pod",
        );
      }
    }
  }

  checkDrain(workload, container, flags, where) {
    const preStop = preStopSeconds(container.lifecycle);
    if (preStop === undefined) {
      this.report(
        where,
        "no lifecycle.preStop: it is killed while still in the endpoints",
      );
      return;
    }
    if (Number.isNaN(preStop)) {
      this.report(
        where,
        "lifecycle.preStop is neither a sleep nor exec sleep N",
      );
      return;
    }
    const drain = parseDuration(flags.get("drain"));
    if (Number.isNaN(drain)) {
      this.report(where, `drain ${flags.get("drain")} is not a duration`);
      return;
    }
    const grace = workload.pod.terminationGracePeriodSeconds ?? 30;
    const needed = preStop + drain + SHUTDOWN_GRACE_SECONDS;
    if (!(grace > needed)) {
      this.report(
        where,
        `terminationGracePeriodSeconds ${grace} is not longer than preStop ` +
          `${preStop}s + drain ${drain}s + shutdown grace ` +
          `${SHUTDOWN_GRACE_SECONDS}s`,
      );
    }
  }

  checkDatabase(workload, container, flags, where) {
    const path = flags.get("db");
    const claims = new Set(
      (workload.object.spec?.volumeClaimTemplates ?? []).map(
        (claim) => claim.metadata?.name,
      ),
    );
    for (const volume of workload.pod.volumes ?? []) {
      if (volume.persistentVolumeClaim !== undefined) claims.add(volume.name);
    }
    const mounts = container.volumeMounts ?? [];
    const mount = mounts.find(
      (m) =>
        typeof path === "string" &&
        path.startsWith(`${m.mountPath.replace(/\/$/, "")}/`),
    );
    if (mount === undefined || !claims.has(mount.name)) {
      this.report(where, `its database ${path} is not on a persistent volume`);
    } else if (mount.readOnly === true) {
      this.report(where, `its database ${path} is on a read-only mount`);
    }
    if (!mounts.some((m) => m.mountPath === "/tmp")) {
      this.report(where, "no writable /tmp for SQLite's temporary files");
    }
  }

  // Redis only as a cache: bounded below its memory limit, evicting, and
  // not persisting.
  checkCache(container, where) {
    const argv = [...(container.command ?? []), ...(container.args ?? [])];
    for (const problem of redisPasswordProblems(argv)) {
      this.report(where, problem);
    }
    const option = (name) => {
      const at = argv.indexOf(`--${name}`);
      return at < 0 ? undefined : String(argv[at + 1]);
    };
    const maxmemory = parseRedisSize(option("maxmemory"));
    const limit = parseQuantity(container.resources?.limits?.memory);
    if (Number.isNaN(maxmemory)) {
      this.report(where, "Redis runs without --maxmemory");
    } else if (!(maxmemory < limit)) {
      this.report(
        where,
        `Redis --maxmemory ${option("maxmemory")} is not below the memory ` +
          `limit ${container.resources?.limits?.memory}`,
      );
    }
    const policy = option("maxmemory-policy");
    if (policy === undefined || policy === "noeviction") {
      this.report(
        where,
        "Redis evicts nothing: set --maxmemory-policy allkeys-lru",
      );
    }
    if (option("save") !== "" || option("appendonly") === "yes") {
      this.report(
        where,
        'Redis persists a cache: set --save "" and --appendonly no',
      );
    }
  }

  // Each address a container is given names a Service of the manifests that
  // reaches the component the flag is for, on the port it listens on.
  checkAddresses(workload) {
    for (const container of workload.containers) {
      const run = workload.runs.get(container.name);
      if (run.flags === undefined) continue;
      const where = `${workload.name} container ${container.name}`;
      const binary = this.binaries.get(run.binary);
      const setByManifest = new Set(
        this.environmentOf(container)
          .map(([name]) => binary.environment.get(name))
          .filter((flag) => flag !== undefined),
      );
      for (const [flag, target] of Object.entries(ADDRESS_FLAGS)) {
        if (!run.flags.has(flag)) continue;
        // A server uses every address it has; a client only those it is
        // given.
        if (SERVERS[run.binary] === undefined && !setByManifest.has(flag)) {
          continue;
        }
        const value = run.flags.get(flag);
        if (value === "" && flag === "redis") continue;
        for (const address of parseAddresses(value ?? "")) {
          if (isLoopback(address.host)) {
            this.report(
              where,
              `--${flag} ${address.text} is the pod itself; set ` +
                binary.variableOf(flag),
            );
            continue;
          }
          this.checkAddress(workload, where, flag, target, address);
        }
      }
    }
  }

  checkAddress(workload, where, flag, target, address) {
    const variable = `--${flag}`;
    if (address.host === undefined) {
      this.report(where, `${variable} ${address.text} is not host:port`);
      return;
    }
    const [serviceName, namespace] = address.host.split(".");
    const service = this.services.find(
      (s) =>
        s.metadata?.name === serviceName &&
        (namespace === undefined ||
          namespace === "svc" ||
          s.metadata?.namespace === undefined ||
          s.metadata.namespace === namespace),
    );
    if (service === undefined) {
      this.report(
        where,
        `${variable} ${address.text}: no Service ${serviceName} in the manifests`,
      );
      return;
    }
    const servicePort = (service.spec?.ports ?? []).find(
      (p) => p.port === address.port,
    );
    if (servicePort === undefined) {
      this.report(
        where,
        `${variable} ${address.text}: Service ${serviceName} has no port ${address.port}`,
      );
      return;
    }
    const reached = this.reachedThrough(service, servicePort, target);
    if (reached.length === 0) {
      this.report(
        where,
        `${variable} ${address.text}: Service ${serviceName} port ` +
          `${address.port} reaches no ${target} on the port it listens on`,
      );
    }
    if (target === ROUND_ROBIN && service.spec?.clusterIP !== "None") {
      this.report(
        where,
        `${variable} ${address.text}: Service ${serviceName} is not headless, ` +
          "so round_robin sees one address",
      );
    }
    for (const { workload: to, port } of reached) {
      this.edges.push({ from: workload, to, port });
    }
  }

  // The workloads running `target` that a Service port reaches, with the
  // port it reaches them on, where that is the port `target` listens on.
  reachedThrough(service, servicePort, target) {
    const reached = [];
    for (const workload of this.workloads) {
      if (!serviceSelects(service, workload.labels)) continue;
      const containers = workload.running(target);
      if (containers.length === 0) continue;
      const port = resolvePort(
        servicePort.targetPort ?? servicePort.port,
        containers,
      );
      const listening = containers.some((container) => {
        const run = workload.runs.get(container.name);
        if (run.port !== undefined && !Number.isNaN(run.port)) {
          return run.port === port;
        }
        return (container.ports ?? []).some((p) => p.containerPort === port);
      });
      if (listening) reached.push({ workload, port });
    }
    return reached;
  }

  // Every server is behind a Service (headless for the one clients balance
  // over), and a StatefulSet's governing Service exists and is headless.
  checkReachable(workload) {
    for (const [binary] of Object.entries(SERVERS)) {
      const containers = workload.running(binary);
      if (containers.length === 0) continue;
      const services = this.services.filter((service) =>
        (service.spec?.ports ?? []).some((servicePort) =>
          this.reachedThrough(service, servicePort, binary).some(
            (reached) => reached.workload === workload,
          ),
        ),
      );
      if (services.length === 0) {
        this.report(workload.name, `no Service reaches its ${binary} port`);
      } else if (
        binary === ROUND_ROBIN &&
        !services.some((service) => service.spec?.clusterIP === "None")
      ) {
        this.report(
          workload.name,
          `no headless Service (clusterIP: None) reaches its ${binary} port, ` +
            "so clients cannot balance with round_robin",
        );
      }
    }
    if (workload.object.kind === "StatefulSet") {
      const name = workload.object.spec?.serviceName;
      const service = this.services.find((s) => s.metadata?.name === name);
      if (service === undefined) {
        this.report(
          workload.name,
          `serviceName ${name} is no Service of the manifests`,
        );
      } else if (service.spec?.clusterIP !== "None") {
        this.report(
          workload.name,
          `its governing Service ${name} is not headless`,
        );
      } else if (!serviceSelects(service, workload.labels)) {
        this.report(
          workload.name,
          `its governing Service ${name} does not select its pods`,
        );
      }
    }
  }

  findWorkload(kind, name) {
    return this.workloads.find(
      (w) => w.object.kind === kind && w.object.metadata?.name === name,
    );
  }

  checkAutoscalers() {
    const autoscalers = this.objects.filter(
      (object) => object.kind === "HorizontalPodAutoscaler",
    );
    for (const hpa of autoscalers) {
      const where = nameOf(hpa);
      const ref = hpa.spec?.scaleTargetRef ?? {};
      const target = this.findWorkload(ref.kind, ref.name);
      if (target === undefined || ref.apiVersion !== "apps/v1") {
        this.report(
          where,
          `scaleTargetRef ${ref.apiVersion} ${ref.kind}/${ref.name} is no ` +
            "workload of the manifests",
        );
        continue;
      }
      const min = hpa.spec.minReplicas ?? 1;
      const max = hpa.spec.maxReplicas;
      if (!(min <= max)) {
        this.report(where, `minReplicas ${min} is above maxReplicas ${max}`);
      }
      const replicas = target.object.spec?.replicas;
      if (replicas !== undefined && (replicas < min || replicas > max)) {
        this.report(
          where,
          `${target.name} has ${replicas} replicas, outside ${min}..${max}`,
        );
      }
      const scalesOnCpu = (hpa.spec.metrics ?? []).some(
        (metric) =>
          metric.type === "Resource" && metric.resource?.name === "cpu",
      );
      if (!scalesOnCpu) this.report(where, "has no CPU metric");
    }
    for (const workload of this.workloads) {
      if (workload.running(ROUND_ROBIN).length === 0) continue;
      const targeted = autoscalers.some(
        (hpa) =>
          this.findWorkload(
            hpa.spec?.scaleTargetRef?.kind,
            hpa.spec?.scaleTargetRef?.name,
          ) === workload,
      );
      if (!targeted) {
        this.report(workload.name, "no HorizontalPodAutoscaler targets it");
      }
    }
  }

  // The fewest replicas a workload may run: the autoscaler's floor, or its
  // own count.
  minimumReplicas(workload) {
    const hpa = this.objects.find(
      (object) =>
        object.kind === "HorizontalPodAutoscaler" &&
        this.findWorkload(
          object.spec?.scaleTargetRef?.kind,
          object.spec?.scaleTargetRef?.name,
        ) === workload,
    );
    return hpa?.spec?.minReplicas ?? workload.object.spec?.replicas ?? 1;
  }

  checkDisruptionBudgets() {
    const budgets = this.objects.filter(
      (object) => object.kind === "PodDisruptionBudget",
    );
    for (const pdb of budgets) {
      const where = nameOf(pdb);
      const covered = this.workloads.filter((w) =>
        selectorMatches(pdb.spec?.selector, w.labels),
      );
      if (covered.length === 0) {
        this.report(where, "its selector matches the pods of no workload");
        continue;
      }
      const { minAvailable, maxUnavailable } = pdb.spec;
      for (const workload of covered) {
        const replicas = this.minimumReplicas(workload);
        const blocks =
          maxUnavailable !== undefined
            ? maxUnavailable === 0 || maxUnavailable === "0%"
            : typeof minAvailable === "number"
              ? minAvailable >= replicas
              : minAvailable === "100%";
        if (blocks) {
          this.report(
            where,
            `lets no pod of ${workload.name} (${replicas} replicas at least) ` +
              "be evicted, so node drains never finish",
          );
        }
      }
    }
    for (const workload of this.workloads) {
      if (workload.running(ROUND_ROBIN).length === 0) continue;
      if (
        !budgets.some((pdb) =>
          selectorMatches(pdb.spec?.selector, workload.labels),
        )
      ) {
        this.report(workload.name, "no PodDisruptionBudget covers its pods");
      }
    }
  }
}

export async function checkKubernetes(objects, binaries, options = {}) {
  return new Checker(objects, binaries, options).run();
}
