#!/usr/bin/env node
// Checks the deployment files against the Kubernetes API schemas and
// against the binaries themselves (the environment variables and defaults
// their --help lists).
//
//   node check_deploy.mjs --binary thb-registry=PATH ... \
//     [--kubectl kubectl] [--pinned-images] [--expect FILE] \
//     [--kustomize DIR]... [--manifests FILE]... [--compose FILE]... \
//     [--dockerfile FILE]...
//
// --kustomize renders DIR with `kubectl kustomize`; --manifests reads
// already rendered YAML. --pinned-images also requires every image to carry
// a tag other than latest, or a digest. Exits 0 when every check passes, 1
// when one fails, 2 when the checks could not run, 77 when kubectl is
// missing.
//
// With --expect FILE, the run is a test of the checker itself: it passes
// when the problems found are exactly those FILE lists, one substring a line
// (# starts a comment), each matched at least once.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { loadBinary } from "./lib/binaries.mjs";
import { checkCompose, checkDockerfile } from "./lib/compose.mjs";
import { checkKubernetes } from "./lib/kubernetes.mjs";
import { scanKustomization } from "./lib/kustomize.mjs";

function usage(message) {
  console.error(`check_deploy: ${message}`);
  process.exit(2);
}

function parseArguments(argv) {
  const options = {
    binaries: [],
    kubectl: "kubectl",
    pinnedImages: false,
    expect: undefined,
    targets: [],
  };
  for (let i = 0; i < argv.length; ++i) {
    const argument = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${argument} needs a value`);
      return argv[++i];
    };
    switch (argument) {
      case "--binary": {
        const [name, ...rest] = value().split("=");
        if (rest.length === 0) usage("--binary takes NAME=PATH");
        options.binaries.push([name, rest.join("=")]);
        break;
      }
      case "--kubectl":
        options.kubectl = value();
        break;
      case "--pinned-images":
        options.pinnedImages = true;
        break;
      case "--expect":
        options.expect = value();
        break;
      case "--kustomize":
      case "--manifests":
      case "--compose":
      case "--dockerfile":
        options.targets.push({ kind: argument.slice(2), file: value() });
        break;
      default:
        usage(`unknown argument ${argument}`);
    }
  }
  if (options.targets.length === 0) usage("nothing to check");
  return options;
}

function parseYamlDocuments(text, label) {
  const objects = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new Error(`${label}: ${document.errors[0].message}`);
    }
    const object = document.toJS();
    if (object !== null && object !== undefined) objects.push(object);
  }
  return objects;
}

// Not a failure: what the check needs is not on this machine.
class Skipped extends Error {}

function render(kubectl, directory) {
  const result = spawnSync(kubectl, ["kustomize", directory], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error?.code === "ENOENT") {
    throw new Skipped(`${kubectl} not found: kustomize output not checked`);
  }
  if (result.error)
    throw new Error(`cannot run ${kubectl}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `kubectl kustomize ${directory} failed: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

async function checkTarget(target, binaries, options) {
  const label = path.relative(process.cwd(), target.file) || target.file;
  let problems;
  let count;
  if (target.kind === "kustomize" || target.kind === "manifests") {
    const text =
      target.kind === "kustomize"
        ? render(options.kubectl, target.file)
        : readFileSync(target.file, "utf8");
    const objects = parseYamlDocuments(text, label);
    count = `${objects.length} objects`;
    const sources =
      target.kind === "kustomize"
        ? scanKustomization(target.file)
        : { generatedSecrets: [], problems: [] };
    problems = [
      ...sources.problems,
      ...(await checkKubernetes(objects, binaries, {
        pinnedImages: options.pinnedImages,
        generatedSecrets: sources.generatedSecrets,
      })),
    ];
  } else if (target.kind === "compose") {
    problems = checkCompose(
      readFileSync(target.file, "utf8"),
      binaries,
      target.file,
    );
    count = "compose file";
  } else {
    problems = checkDockerfile(
      target.file,
      readFileSync(target.file, "utf8"),
      binaries,
    );
    count = "Dockerfile";
  }
  console.log(
    `${label} (${count}): ${problems.length === 0 ? "ok" : `${problems.length} problems`}`,
  );
  for (const problem of problems) console.log(`  ${problem}`);
  return problems;
}

function compareWithExpected(problems, file) {
  const expected = readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line !== "");
  const missing = expected.filter(
    (substring) => !problems.some((problem) => problem.includes(substring)),
  );
  const unexpected = problems.filter(
    (problem) => !expected.some((substring) => problem.includes(substring)),
  );
  for (const substring of missing) console.log(`NOT REPORTED: ${substring}`);
  for (const problem of unexpected) console.log(`NOT EXPECTED: ${problem}`);
  console.log(
    `checker self-test: ${expected.length - missing.length} of ` +
      `${expected.length} expected problems reported, ` +
      `${unexpected.length} unexpected`,
  );
  return missing.length === 0 && unexpected.length === 0;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const binaries = new Map();
  for (const [name, file] of options.binaries) {
    binaries.set(name, loadBinary(name, file));
  }
  const problems = [];
  for (const target of options.targets) {
    problems.push(...(await checkTarget(target, binaries, options)));
  }
  if (options.expect !== undefined) {
    return compareWithExpected(problems, options.expect) ? 0 : 1;
  }
  console.log(
    problems.length === 0
      ? "deployment checks: no problem"
      : `deployment checks: ${problems.length} problems`,
  );
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`check_deploy: ${error.message}`);
    // 77: skipped, as CTest's SKIP_RETURN_CODE reads it.
    process.exit(error instanceof Skipped ? 77 : 2);
  },
);
