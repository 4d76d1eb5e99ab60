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

export function checkCompose(text, binaries) {
  const problems = [];
  const document = parse(text, { merge: true });
  const services = document?.services ?? {};
  const runs = new Map();
  for (const [name, service] of Object.entries(services)) {
    const where = `service ${name}`;
    const binaryName = binaryOfService(service);
    const binary = binaries.get(binaryName);
    const environment = environmentOf(service);
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
    });
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
      if (!test.some((word) => word.endsWith(`:${run.port}`))) {
        problems.push(
          `${where}: its healthcheck does not ask port ${run.port}, where it listens`,
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
