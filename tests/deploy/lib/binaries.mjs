// What a built binary says of itself in --help: the environment variables it
// reads (the "Environment:" section that ends its usage text) and the
// defaults of its flags.

import { spawnSync } from "node:child_process";

export class Binary {
  constructor(name, environment, defaults) {
    this.name = name;
    // Variable name -> flag name ("THB_REGISTRY_PORT" -> "port").
    this.environment = environment;
    // Flag name -> default value as --help prints it, unquoted.
    this.defaults = defaults;
  }

  // Flag name -> variable name.
  variableOf(flag) {
    for (const [variable, bound] of this.environment) {
      if (bound === flag) return variable;
    }
    return undefined;
  }
}

// Parses the text of --help; throws if it has no Environment section.
export function parseHelp(name, text) {
  const lines = text.split("\n");
  const header = lines.findIndex((line) => line.trim() === "Environment:");
  if (header < 0) {
    throw new Error(`${name} --help has no "Environment:" section`);
  }
  const environment = new Map();
  for (const line of lines.slice(header + 1)) {
    const match = /^\s+([A-Z][A-Z0-9_]*)\s+--([a-z0-9_]+)\s*$/.exec(line);
    if (!match) break;
    environment.set(match[1], match[2]);
  }
  if (environment.size === 0) {
    throw new Error(`${name} --help lists no variable under "Environment:"`);
  }
  // absl prints each flag as "    --name (description); default: value;",
  // wrapping long ones onto lines indented further.
  const entries = [];
  for (const line of lines) {
    if (/^\s{4}--[a-z0-9_]+ \(/.test(line)) {
      entries.push(line.trim());
    } else if (/^\s{5,}\S/.test(line) && entries.length > 0) {
      entries[entries.length - 1] += ` ${line.trim()}`;
    } else {
      entries.push("");
    }
  }
  const defaults = new Map();
  for (const entry of entries) {
    const match =
      /^--([a-z0-9_]+) \(.*\); default: (.*?);(?: currently: .*)?$/.exec(entry);
    if (!match) continue;
    let value = match[2];
    if (value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    defaults.set(match[1], value);
  }
  return new Binary(name, environment, defaults);
}

// Runs `path --help` with no THB_ variable set, so that the defaults are the
// binary's own.
export function loadBinary(name, path) {
  const result = spawnSync(path, ["--help"], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    timeout: 30000,
  });
  if (result.error) {
    throw new Error(`cannot run ${name} (${path}): ${result.error.message}`);
  }
  return parseHelp(name, `${result.stdout}\n${result.stderr}`);
}
