// The flags a binary runs with in a container: its defaults, then its
// environment variables, then its command line, as common/config.cc reads
// them.

// `environment` holds [name, value] pairs (value undefined when it is only
// known at run time, e.g. from a Secret); `argv` the command line after the
// binary. Reports each THB_ variable the binary does not read and each flag
// it does not have.
export function effectiveFlags(binary, environment, argv, report) {
  const flags = new Map(binary.defaults);
  for (const [name, value] of environment) {
    if (!name.startsWith("THB_")) continue;
    const flag = binary.environment.get(name);
    if (flag === undefined) {
      report(
        `${name} is not an environment variable of ${binary.name}; it reads ` +
          [...binary.environment.keys()].join(", "),
      );
      continue;
    }
    flags.set(flag, value === undefined ? undefined : String(value));
  }
  for (let i = 0; i < argv.length; ++i) {
    const match = /^--?([a-z0-9_]+)(?:=([\s\S]*))?$/.exec(String(argv[i]));
    if (!match) continue;
    let value = match[2];
    if (value === undefined) {
      const next = argv[i + 1];
      value =
        next !== undefined && !String(next).startsWith("-")
          ? String(argv[++i])
          : "true";
    }
    if (!binary.defaults.has(match[1])) {
      report(`${binary.name} has no flag --${match[1]}`);
      continue;
    }
    flags.set(match[1], value);
  }
  return flags;
}

// The host:port pairs of an address flag's value: "dns:///name:port",
// "name:port", or a comma-separated list of them.
export function parseAddresses(value) {
  let text = String(value).trim();
  text = text.replace(/^dns:(\/\/[^/]*\/)?/, "").replace(/^ipv[46]:/, "");
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(part);
      return match
        ? { host: match[1], port: Number(match[2]), text: part }
        : { host: undefined, port: undefined, text: part };
    });
}

// Whether a listening address can only be reached from inside the pod.
export function isLoopback(host) {
  return /^(127\.|localhost$|::1$|\[::1\]$)/.test(String(host));
}
