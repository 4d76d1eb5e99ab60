// Unit tests of the checker's readers: --help, units, addresses, selectors;
// and its security rules, each shown to fail on the broken files of
// testdata/ (THB_DEPLOY_TESTDATA) with its exact message.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { parseHelp } from "./lib/binaries.mjs";
import { checkCompose, checkDockerfile } from "./lib/compose.mjs";
import { checkKubernetes } from "./lib/kubernetes.mjs";
import { scanKustomization } from "./lib/kustomize.mjs";
import {
  gitIgnored,
  inlineSecretProblems,
  insecureProblems,
  redisPasswordProblems,
} from "./lib/security.mjs";
import { imageName, imageVersion } from "./lib/contract.mjs";
import { effectiveFlags, isLoopback, parseAddresses } from "./lib/flags.mjs";
import { resolvePort, selectorMatches } from "./lib/selectors.mjs";
import { parseDuration, parseQuantity, parseRedisSize } from "./lib/units.mjs";

const HELP = `thb-example: An example server.

Each variable below sets the flag beside it; a flag given on the command
line wins.

Environment:
  THB_EXAMPLE_PORT  --port
  THB_DRAIN         --drain


  Flags from services/example/main.cc:
    --drain (After SIGTERM, how long readiness reports NOT_SERVING before the
      server stops accepting calls.); default: 2s;
    --db (SQLite database file; created on first start.);
      default: "example.sqlite3";
    --port (Port to listen on; 0 picks a free one.); default: 50059;

Try --helpfull to get a list of all flags.
`;

test("--help gives the variables and the defaults, wrapped or not", () => {
  const binary = parseHelp("thb-example", HELP);
  assert.deepEqual(
    [...binary.environment],
    [
      ["THB_EXAMPLE_PORT", "port"],
      ["THB_DRAIN", "drain"],
    ],
  );
  assert.equal(binary.defaults.get("drain"), "2s");
  assert.equal(binary.defaults.get("db"), "example.sqlite3");
  assert.equal(binary.defaults.get("port"), "50059");
  assert.equal(binary.variableOf("port"), "THB_EXAMPLE_PORT");
});

test("--help without an Environment section is an error", () => {
  assert.throws(
    () => parseHelp("old", "old: usage\n\n  Flags from main.cc:\n"),
    /no "Environment:" section/,
  );
});

test("flags come from defaults, then variables, then the command line", () => {
  const binary = parseHelp("thb-example", HELP);
  const problems = [];
  const flags = effectiveFlags(
    binary,
    [
      ["THB_EXAMPLE_PORT", "6000"],
      ["THB_EXAMPLE_PROT", "7000"],
      ["HOME", "/"],
    ],
    ["--drain=10s", "--db", "/data/x.sqlite3", "--nope"],
    (message) => problems.push(message),
  );
  assert.equal(flags.get("port"), "6000");
  assert.equal(flags.get("drain"), "10s");
  assert.equal(flags.get("db"), "/data/x.sqlite3");
  assert.equal(problems.length, 2);
  assert.match(problems[0], /THB_EXAMPLE_PROT is not an environment variable/);
  assert.match(problems[1], /has no flag --nope/);
});

test("durations, quantities and Redis sizes", () => {
  assert.equal(parseDuration("5s"), 5);
  assert.equal(parseDuration("1m30s"), 90);
  assert.equal(parseDuration("250ms"), 0.25);
  assert.ok(Number.isNaN(parseDuration("5 seconds")));
  assert.equal(parseQuantity("250m"), 0.25);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("256Mi"), 256 * 2 ** 20);
  assert.equal(parseQuantity("1G"), 1e9);
  assert.ok(Number.isNaN(parseQuantity("1 GB")));
  assert.equal(parseRedisSize("192mb"), 192 * 2 ** 20);
  assert.equal(parseRedisSize("1gb"), 2 ** 30);
  assert.ok(parseRedisSize("192mb") < parseQuantity("256Mi"));
});

test("addresses: dns:/// targets, plain host:port and lists", () => {
  assert.deepEqual(parseAddresses("dns:///thb-aggregator:50053"), [
    { host: "thb-aggregator", port: 50053, text: "thb-aggregator:50053" },
  ]);
  assert.deepEqual(
    parseAddresses("a:1, b:2").map((a) => a.host),
    ["a", "b"],
  );
  assert.equal(parseAddresses("no-port")[0].host, undefined);
  assert.ok(isLoopback("127.0.0.1"));
  assert.ok(isLoopback("localhost"));
  assert.ok(!isLoopback("0.0.0.0"));
});

test("images: name and version", () => {
  assert.equal(
    imageName("registry.example/thb/thb-registry:0.1.0"),
    "thb-registry",
  );
  assert.equal(imageVersion("thb-registry:0.1.0"), "0.1.0");
  assert.equal(imageVersion("thb-registry"), "");
  assert.equal(imageVersion("thb-registry@sha256:ab"), "sha256:ab");
  assert.equal(imageVersion("host:5000/thb-registry"), "");
});

test("label selectors and named ports", () => {
  const labels = { app: "thb", tier: "stats" };
  assert.ok(selectorMatches({}, labels));
  assert.ok(selectorMatches({ matchLabels: { app: "thb" } }, labels));
  assert.ok(!selectorMatches({ matchLabels: { app: "other" } }, labels));
  assert.ok(
    selectorMatches(
      {
        matchExpressions: [{ key: "tier", operator: "In", values: ["stats"] }],
      },
      labels,
    ),
  );
  assert.ok(
    !selectorMatches(
      { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] },
      labels,
    ),
  );
  const containers = [{ ports: [{ name: "grpc", containerPort: 50053 }] }];
  assert.equal(resolvePort("grpc", containers), 50053);
  assert.equal(resolvePort(6379, containers), 6379);
  assert.equal(resolvePort("http", containers), undefined);
});

// --help as the binaries print it once they read the flags of the security
// contract: enough of it for the fixtures.
function contractHelp(name, prefix, variables, defaults) {
  const environment = Object.entries(variables)
    .map(([variable, flag]) => `  ${variable}  --${flag}`)
    .join("\n");
  const flags = Object.entries(defaults)
    .map(([flag, value]) => `    --${flag} (x); default: ${value};`)
    .join("\n");
  return parseHelp(
    name,
    `${name}: x\n\nEnvironment:\n${environment}\n\n  Flags from main.cc:\n${flags}\n`,
  );
}

function contractBinaries() {
  const tls = {
    THB_TLS_CA: "tls_ca",
    THB_TLS_CERT: "tls_cert",
    THB_TLS_KEY: "tls_key",
    THB_INSECURE: "insecure",
  };
  const tlsDefaults = {
    tls_ca: '""',
    tls_cert: '""',
    tls_key: '""',
    insecure: "false",
  };
  const server = (name, prefix, port, health, extra = {}, extraDefaults = {}) =>
    contractHelp(
      name,
      prefix,
      {
        ...tls,
        [`THB_${prefix}_HOST`]: "host",
        [`THB_${prefix}_PORT`]: "port",
        [`THB_${prefix}_DB`]: "db",
        [`THB_${prefix}_HEALTH_PORT`]: "health_port",
        THB_AUTHZ_POLICY: "authz_policy",
        THB_JWT_KEYS: "jwt_keys",
        THB_DRAIN: "drain",
        THB_MAX_CONNECTION_AGE: "max_connection_age",
        THB_REGISTRY_ADDRESS: "registry",
        ...extra,
      },
      {
        ...tlsDefaults,
        host: '"127.0.0.1"',
        port: String(port),
        db: `"${name}.sqlite3"`,
        health_port: String(health),
        authz_policy: '""',
        jwt_keys: '""',
        drain: "2s",
        max_connection_age: "5m",
        registry: '"127.0.0.1:50051"',
        ...extraDefaults,
      },
    );
  return new Map([
    ["thb-registry", server("thb-registry", "REGISTRY", 50051, 50061)],
    ["thb-cooperation", server("thb-cooperation", "COOPERATION", 50052, 50062)],
    [
      "thb-aggregator",
      server(
        "thb-aggregator",
        "AGGREGATOR",
        50053,
        50063,
        {
          THB_COOPERATION_ADDRESS: "cooperation",
          THB_REDIS_ADDRESS: "redis",
          THB_REDIS_PASSWORD_FILE: "redis_password_file",
          THB_CACHE_HMAC_KEY_FILE: "cache_hmac_key_file",
        },
        {
          cooperation: '"127.0.0.1:50052"',
          redis: '"127.0.0.1:6379"',
          redis_password_file: '""',
          cache_hmac_key_file: '""',
        },
      ),
    ],
    [
      "thbctl",
      contractHelp(
        "thbctl",
        "",
        {
          ...tls,
          THB_TOKEN: "token",
          THB_REGISTRY_ADDRESS: "registry",
          THB_COOPERATION_ADDRESS: "cooperation",
        },
        {
          ...tlsDefaults,
          token: '""',
          registry: '"127.0.0.1:50051"',
          cooperation: '"127.0.0.1:50052"',
        },
      ),
    ],
  ]);
}

const TESTDATA = process.env.THB_DEPLOY_TESTDATA;

test("inline secrets, plaintext mode and Redis passwords", () => {
  assert.deepEqual(
    inlineSecretProblems([
      ["THB_TOKEN", "eyJ"],
      ["THB_TLS_KEY", "/etc/thb/tls/tls.key"],
      ["THB_REDIS_PASSWORD_FILE", undefined],
      ["THB_DRAIN", "5s"],
    ]),
    [
      "THB_TOKEN carries a secret value inline; give it as a file mounted " +
        "from a Secret",
    ],
  );
  assert.equal(insecureProblems([["THB_INSECURE", "false"]], []).length, 1);
  assert.equal(insecureProblems([], ["--insecure"]).length, 1);
  assert.equal(insecureProblems([], ["--insecure_x"]).length, 0);
  assert.deepEqual(
    redisPasswordProblems(["redis-server", "--requirepass", "x"]),
    ["Redis is given its password inline (--requirepass)"],
  );
  assert.deepEqual(redisPasswordProblems(["redis-server", "--save", ""]), [
    "Redis asks no password (requirepass)",
  ]);
  assert.deepEqual(
    redisPasswordProblems(["sh", "-c", 'requirepass "$(cat f)"', "redis"]),
    [],
  );
});

test("git ignores .thb/ but not the repository's own files", (t) => {
  if (TESTDATA === undefined) return t.skip("THB_DEPLOY_TESTDATA not set");
  const root = path.resolve(TESTDATA, "../../..");
  if (gitIgnored(path.join(root, "README.md")) === undefined) {
    return t.skip("not a git work tree");
  }
  assert.equal(gitIgnored(path.join(root, ".thb/tls/ca.pem")), true);
  assert.equal(gitIgnored(path.join(root, "deploy/authz-policy.json")), false);
});

test("compose: each security rule fails on the broken file", (t) => {
  if (TESTDATA === undefined) return t.skip("THB_DEPLOY_TESTDATA not set");
  const file = path.join(TESTDATA, "broken-compose/docker-compose.yml");
  const dockerfile = path.join(TESTDATA, "broken-compose/registry.Dockerfile");
  const binaries = contractBinaries();
  const problems = [
    ...checkCompose(readFileSync(file, "utf8"), binaries, file),
    ...checkDockerfile(dockerfile, readFileSync(dockerfile, "utf8"), binaries),
  ];
  const expected = [
    "service registry: its healthcheck asks port 50051, the TLS main port, " +
      "not the health port 50061",
    "service cooperation: THB_TLS_KEY /run/secrets/cooperation-key.pem is " +
      "not a file of a secret of the service",
    "service aggregator-1: sets THB_INSECURE: plaintext, with neither " +
      "authentication nor authorization",
    "service aggregator-1: THB_CACHE_HMAC_KEY_FILE is not set",
    "service redis: Redis is given its password inline (--requirepass)",
    "service import: THB_TOKEN carries a secret value inline; give it as a " +
      "file mounted from a Secret",
    "registry.Dockerfile: HEALTHCHECK asks the TLS main port, not the " +
      "health port 50061",
  ];
  if (gitIgnored(file) !== undefined) {
    expected.push(
      "secret registry-key.pem: its file secrets/registry-key.pem is not " +
        "git-ignored, so a secret would be committed",
    );
  }
  for (const message of expected) {
    assert.ok(problems.includes(message), `not reported: ${message}`);
  }
  // The committed policy is no secret: its file is not reported.
  assert.ok(!problems.some((p) => p.startsWith("secret authz-policy.json")));
});

test("kubernetes: each security rule fails on the broken kustomization", async (t) => {
  if (TESTDATA === undefined) return t.skip("THB_DEPLOY_TESTDATA not set");
  const directory = path.join(TESTDATA, "broken-k8s");
  const rendered = spawnSync("kubectl", ["kustomize", directory], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (rendered.error?.code === "ENOENT") return t.skip("kubectl not found");
  assert.equal(rendered.status, 0, rendered.stderr);
  const objects = parseAllDocuments(rendered.stdout)
    .map((document) => document.toJS())
    .filter((object) => object !== null);
  const sources = scanKustomization(directory);
  const problems = [
    ...sources.problems.map((p) => p.replace(/^.*kustomization\.yaml: /, "")),
    ...(await checkKubernetes(objects, contractBinaries(), {
      generatedSecrets: sources.generatedSecrets,
    })),
  ];
  const registry = "StatefulSet/thb-registry container registry: ";
  const cooperation = "StatefulSet/thb-cooperation container cooperation: ";
  const aggregator = "Deployment/thb-aggregator container aggregator: ";
  for (const message of [
    `${registry}readinessProbe asks port "grpc", not the health port 50061`,
    `${registry}livenessProbe asks port 50051, the TLS main port, not the ` +
      "health port 50061",
    `${registry}THB_AUTHZ_POLICY /etc/thb/authz/authz-policy.json is mounted ` +
      "with subPath, so a renewed file never reaches the pod",
    `${cooperation}THB_TLS_KEY is not set`,
    `${cooperation}declares no containerPort 50062, its health port`,
    `${aggregator}sets THB_INSECURE: plaintext, with neither authentication ` +
      "nor authorization",
    `${aggregator}THB_REDIS_PASSWORD_FILE /etc/thb/redis/password is not on ` +
      "a volume from a Secret",
    "Deployment/thb-redis container redis: Redis is given its password " +
      "inline (--requirepass)",
    "Secret/thb-redis-auth: carries password in the manifests, a committed " +
      "secret; let cert-manager or scripts/deploy-secrets.sh create it",
    "secretGenerator thb-cache-hmac has literals, a committed secret; read " +
      "them from files git ignores",
    "Job/thb-import container import: THB_TOKEN carries a secret value " +
      "inline; give it as a file mounted from a Secret",
    "Certificate/thb-import: schema: /spec/usages/1 must be equal to one of " +
      "the allowed values (signing, digital signature, content commitment, " +
      "key encipherment, key agreement, data encipherment, cert sign, crl " +
      "sign, encipher only, decipher only, any, server auth, client auth, " +
      "code signing, email protection, s/mime, ipsec end system, ipsec " +
      "tunnel, ipsec user, timestamping, ocsp signing, microsoft sgc, " +
      "netscape sgc)",
  ]) {
    assert.ok(problems.includes(message), `not reported: ${message}`);
  }
  // The generated Secret is judged by its generator, not again as committed
  // data.
  assert.ok(!problems.some((p) => p.startsWith("Secret/thb-cache-hmac")));
});
