// Unit tests of the checker's readers: --help, units, addresses, selectors.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseHelp } from "./lib/binaries.mjs";
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
