// What the security of a deployment needs from its files: servers and clients
// given their TLS files and the policy from mounted Secrets (or, for what is
// not secret, ConfigMaps), no plaintext mode, and no secret value written
// into the repository.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

// The flags that name a file, with the variable that sets each (named here
// too, so that a binary that lacks the flag still gets a readable message)
// and what may hold it: "secret" only a Secret, "config" a ConfigMap as well.
export const FILE_FLAGS = {
  tls_ca: { variable: "THB_TLS_CA", from: "secret" },
  tls_cert: { variable: "THB_TLS_CERT", from: "secret" },
  tls_key: { variable: "THB_TLS_KEY", from: "secret" },
  authz_policy: { variable: "THB_AUTHZ_POLICY", from: "config" },
  jwt_keys: { variable: "THB_JWT_KEYS", from: "config" },
  redis_password_file: { variable: "THB_REDIS_PASSWORD_FILE", from: "secret" },
  cache_hmac_key_file: { variable: "THB_CACHE_HMAC_KEY_FILE", from: "secret" },
};

// The files each kind of process must be given.
export const SERVER_FILES = ["tls_ca", "tls_cert", "tls_key", "authz_policy"];
export const CLIENT_FILES = ["tls_ca", "tls_cert", "tls_key"];
// The aggregator, whenever it uses Redis.
export const CACHE_FILES = ["redis_password_file", "cache_hmac_key_file"];
// Optional: checked only when set.
export const OPTIONAL_FILES = ["jwt_keys"];

// Variables whose value, unless a path, is itself a secret.
const SECRET_VARIABLE = /^THB_\w*(PASSWORD|TOKEN|SECRET|KEY)/;

// `environment` as [name, value] pairs, value undefined when it comes from
// elsewhere at run time (a Secret reference).
export function inlineSecretProblems(environment) {
  const problems = [];
  for (const [name, value] of environment) {
    if (!SECRET_VARIABLE.test(name) || value === undefined) continue;
    if (String(value).startsWith("/")) continue;
    problems.push(
      `${name} carries a secret value inline; give it as a file mounted ` +
        "from a Secret",
    );
  }
  return problems;
}

export function insecureProblems(environment, argv) {
  const set =
    environment.some(([name]) => name === "THB_INSECURE") ||
    argv.some((word) => /^--?insecure(=|$)/.test(String(word)));
  return set
    ? [
        "sets THB_INSECURE: plaintext, with neither authentication nor authorization",
      ]
    : [];
}

// The value of a flag, or "" when it is not set.
export function fileFlagValue(flags, flag) {
  const value = flags?.get(flag);
  return value === undefined || value === null ? "" : String(value);
}

// Whether git ignores `file` (so that it cannot be committed by accident).
// Undefined outside a git work tree.
export function gitIgnored(file) {
  // git runs from the nearest directory that exists: the file itself need
  // not (.thb/ is written only on the machine that deploys).
  let directory = path.dirname(path.resolve(file));
  while (!existsSync(directory) && path.dirname(directory) !== directory) {
    directory = path.dirname(directory);
  }
  // A tracked file counts as not ignored, whatever .gitignore says.
  const result = spawnSync(
    "git",
    [
      "-C",
      directory,
      "check-ignore",
      "-q",
      path.relative(directory, path.resolve(file)),
    ],
    { encoding: "utf8" },
  );
  if (result.error || (result.status !== 0 && result.status !== 1)) {
    return undefined;
  }
  return result.status === 0;
}

// Redis given a password, but not on its command line: `argv` is the whole
// command (a shell script among it counts by its text).
export function redisPasswordProblems(argv) {
  const words = argv.map(String);
  const at = words.indexOf("--requirepass");
  if (at >= 0 && !String(words[at + 1] ?? "").startsWith("$")) {
    return ["Redis is given its password inline (--requirepass)"];
  }
  if (!words.some((word) => word.includes("requirepass"))) {
    return ["Redis asks no password (requirepass)"];
  }
  return [];
}
