// The same agreement with the binaries for docker-compose.yml and the
// Dockerfiles: variables the binaries read, servers listening beyond
// loopback and checked on their readiness, addresses that name the right
// service and port, and a stop grace longer than the drain.

import path from "node:path";
import { parse } from "yaml";
import {
  ADDRESS_FLAGS,
  DOCKERFILES,
  SERVERS,
  SHUTDOWN_GRACE_SECONDS,
  binaryOfImage,
} from "./contract.mjs";
import { effectiveFlags, isLoopback, parseAddresses } from "./flags.mjs";
import {
  CACHE_FILES,
  CLIENT_FILES,
  FILE_FLAGS,
  OPTIONAL_FILES,
  SERVER_FILES,
  fileFlagValue,
  gitIgnored,
  inlineSecretProblems,
  insecureProblems,
  redisPasswordProblems,
} from "./security.mjs";
import { parseDuration } from "./units.mjs";

function binaryOfService(service) {
  const fromImage = binaryOfImage(service.image ?? "");
  if (fromImage !== undefined) return fromImage;
  const dockerfile = service.build?.dockerfile;
  return dockerfile ? DOCKERFILES[path.basename(dockerfile)] : undefined;
}

function environmentOf(service) {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return environment.map((entry) => {
      const at = String(entry).indexOf("=");
      return at < 0
        ? [String(entry), undefined]
        : [String(entry).slice(0, at), String(entry).slice(at + 1)];
    });
  }
  return Object.entries(environment).map(([name, value]) => [
    name,
    value === null || String(value).includes("${") ? undefined : value,
  ]);
}

function commandOf(service) {
  const command = service.command ?? [];
  return Array.isArray(command)
    ? command.map(String)
    : String(command).split(/\s+/);
}

// The files a service's secrets (and configs) put in its container: path ->
// { name, kind }.
function mountsOf(service) {
  const mounts = new Map();
  for (const kind of ["secrets", "configs"]) {
    for (const entry of service[kind] ?? []) {
      const source = typeof entry === "string" ? entry : entry?.source;
      if (source === undefined) continue;
      const target =
        typeof entry === "string" ? undefined : (entry.target ?? undefined);
      const file = String(target ?? source).startsWith("/")
        ? String(target)
        : kind === "secrets"
          ? `/run/secrets/${target ?? source}`
          : `/${target ?? source}`;
      mounts.set(file, { name: source, kind: kind.slice(0, -1) });
    }
  }
  return mounts;
}

// Each file flag the process must have names a file of a compose secret (or,
// where it is no secret, a config); returns the secrets only a file that is no
// secret comes from.
function checkFileFlags(where, run, service, required, report, configOnly) {
  const mounts = mountsOf(service);
  for (const flag of [...required, ...OPTIONAL_FILES]) {
    const { variable, from } = FILE_FLAGS[flag];
    const value = fileFlagValue(run.flags, flag);
    if (value === "") {
      if (required.includes(flag)) report(`${where}: ${variable} is not set`);
      continue;
    }
    const mount = mounts.get(value);
    if (mount === undefined || (from === "secret" && mount.kind !== "secret")) {
      report(
        `${where}: ${variable} ${value} is not a file of ` +
          (from === "secret" ? "a secret" : "a secret or config") +
          " of the service",
      );
      continue;
    }
    const uses = configOnly.get(mount.name) ?? true;
    configOnly.set(mount.name, uses && from === "config");
  }
}

export function checkCompose(text, binaries, file = "docker-compose.yml") {
  const problems = [];
  const document = parse(text, { merge: true });
  const services = document?.services ?? {};
  const runs = new Map();
  // Secret name -> whether only files that are not secret (the policy) use it.
  const configOnly = new Map();
  for (const [name, service] of Object.entries(services)) {
    const where = `service ${name}`;
    const binaryName = binaryOfService(service);
    const binary = binaries.get(binaryName);
    const environment = environmentOf(service);
    for (const problem of inlineSecretProblems(environment)) {
      problems.push(`${where}: ${problem}`);
    }
    for (const problem of insecureProblems(environment, commandOf(service))) {
      problems.push(`${where}: ${problem}`);
    }
    if (binaryName === "redis") {
      for (const problem of redisPasswordProblems(commandOf(service))) {
        problems.push(`${where}: ${problem}`);
      }
      for (const entry of service.secrets ?? []) {
        configOnly.set(
          typeof entry === "string" ? entry : entry?.source,
          false,
        );
      }
    }
    if (binary === undefined) {
      for (const [variable] of environment) {
        if (variable.startsWith("THB_")) {
          problems.push(
            `${where}: ${variable} is set, but it runs no thb binary`,
          );
        }
      }
      runs.set(name, { binary: binaryName });
      continue;
    }
    const flags = effectiveFlags(binary, environment, commandOf(service), (m) =>
      problems.push(`${where}: ${m}`),
    );
    const set = new Set(
      environment
        .map(([variable]) => binary.environment.get(variable))
        .filter((flag) => flag !== undefined),
    );
    runs.set(name, {
      binary: binaryName,
      flags,
      set,
      port: Number(flags.get("port")),
      healthPort: Number(flags.get("health_port")),
    });
    const required =
      SERVERS[binaryName] !== undefined
        ? [...SERVER_FILES]
        : binaryName === "thbctl"
          ? [...CLIENT_FILES]
          : [];
    if (
      binaryName === "thb-aggregator" &&
      fileFlagValue(flags, "redis") !== ""
    ) {
      required.push(...CACHE_FILES);
    }
    checkFileFlags(
      where,
      runs.get(name),
      service,
      required,
      (message) => problems.push(message),
      configOnly,
    );
  }
  // A secret's file on the host must be one git ignores, unless what it
  // holds is no secret (the policy).
  for (const [name, secret] of Object.entries(document?.secrets ?? {})) {
    if (secret?.file === undefined || configOnly.get(name) === true) continue;
    const host = path.resolve(path.dirname(file), String(secret.file));
    if (gitIgnored(host) === false) {
      problems.push(
        `secret ${name}: its file ${secret.file} is not git-ignored, so a ` +
          "secret would be committed",
      );
    }
  }
  for (const [name, service] of Object.entries(services)) {
    const run = runs.get(name);
    if (run.flags === undefined) continue;
    const where = `service ${name}`;
    const server = SERVERS[run.binary];
    if (server !== undefined) {
      if (isLoopback(run.flags.get("host"))) {
        problems.push(
          `${where}: listens on ${run.flags.get("host")}, unreachable from other containers`,
        );
      }
      const test = (service.healthcheck?.test ?? []).map(String);
      if (test.some((word) => word.endsWith(`:${run.port}`))) {
        problems.push(
          `${where}: its healthcheck asks port ${run.port}, the TLS main ` +
            `port, not the health port ${run.healthPort}`,
        );
      } else if (!test.some((word) => word.endsWith(`:${run.healthPort}`))) {
        problems.push(
          `${where}: its healthcheck does not ask the health port ${run.healthPort}`,
        );
      }
      if (!test.includes(server.health)) {
        problems.push(
          `${where}: its healthcheck does not ask the readiness of ${server.health}`,
        );
      }
      const grace = parseDuration(service.stop_grace_period ?? "10s");
      const drain = parseDuration(run.flags.get("drain"));
      if (!(grace > drain + SHUTDOWN_GRACE_SECONDS)) {
        problems.push(
          `${where}: stop_grace_period ${service.stop_grace_period ?? "10s"} ` +
            `is not longer than drain ${drain}s + shutdown grace ${SHUTDOWN_GRACE_SECONDS}s`,
        );
      }
    }
    for (const [flag, target] of Object.entries(ADDRESS_FLAGS)) {
      if (!run.flags.has(flag)) continue;
      if (server === undefined && !run.set.has(flag)) continue;
      const value = run.flags.get(flag);
      if (value === undefined || (value === "" && flag === "redis")) continue;
      for (const address of parseAddresses(value)) {
        const callee = runs.get(address.host);
        const listens =
          callee?.binary === target &&
          (callee.port === undefined || Number.isNaN(callee.port)
            ? address.port === 6379
            : callee.port === address.port);
        if (!listens) {
          problems.push(
            `${where}: --${flag} ${address.text} is not a ${target} service ` +
              "listening on that port",
          );
        }
      }
    }
  }
  return problems;
}

// The ENV instructions of a Dockerfile, as [name, value] pairs.
function dockerfileEnvironment(text) {
  const instructions = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  const environment = [];
  for (const line of instructions) {
    const match = /^\s*ENV\s+(.*)$/i.exec(line);
    if (!match) continue;
    const body = match[1].trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(body)) {
      const [name, ...rest] = body.split(/\s+/);
      environment.push([name, rest.join(" ")]);
      continue;
    }
    const pair = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
    for (const [, name, value] of body.matchAll(pair)) {
      environment.push([name, value.replace(/^"|"$/g, "")]);
    }
  }
  return environment;
}

export function checkDockerfile(file, text, binaries) {
  const problems = [];
  const where = path.basename(file);
  const binary = binaries.get(DOCKERFILES[where]);
  if (binary === undefined) {
    return [`${where}: no binary is known for this Dockerfile`];
  }
  const flags = effectiveFlags(binary, dockerfileEnvironment(text), [], (m) =>
    problems.push(`${where}: ENV ${m}`),
  );
  if (SERVERS[binary.name] !== undefined) {
    const healthcheck = /^\s*HEALTHCHECK\s+(.*)$/im.exec(
      text.replace(/\\\r?\n/g, " "),
    )?.[1];
    const healthPort = flags.get("health_port");
    const asks = (flag) =>
      healthcheck !== undefined &&
      (healthcheck.includes(`\${${binary.variableOf(flag)}}`) ||
        healthcheck.includes(`$${binary.variableOf(flag)}`) ||
        new RegExp(`:${flags.get(flag)}\\b`).test(healthcheck));
    if (healthcheck === undefined) {
      problems.push(`${where}: no HEALTHCHECK`);
    } else if (asks("port")) {
      problems.push(
        `${where}: HEALTHCHECK asks the TLS main port, not the health port ${healthPort}`,
      );
    } else if (!asks("health_port")) {
      problems.push(
        `${where}: HEALTHCHECK does not ask the health port ${healthPort}`,
      );
    }
    const port = flags.get("port");
    const exposed = [...text.matchAll(/^\s*EXPOSE\s+(.*)$/gim)].flatMap((m) =>
      m[1].split(/\s+/).map((p) => p.split("/")[0]),
    );
    if (!exposed.includes(String(port))) {
      problems.push(
        `${where}: does not EXPOSE ${port}, the port ${binary.name} listens on`,
      );
    }
  }
  return problems;
}
