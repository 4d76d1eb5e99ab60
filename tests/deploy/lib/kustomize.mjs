// The kustomizations behind a rendered directory, read for what rendering
// hides: whether a generated Secret's values come from the repository.

import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { gitIgnored } from "./security.mjs";

const FILE_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

// Walks `directory` and the local directories its resources and components
// name. Returns the names of the Secrets its generators make, and a problem
// for each generator that takes its values from the repository: literals, or
// files git does not ignore.
export function scanKustomization(directory) {
  const generatedSecrets = [];
  const problems = [];
  const seen = new Set();
  const visit = (dir) => {
    const resolved = path.resolve(dir);
    if (seen.has(resolved)) return;
    seen.add(resolved);
    const name = FILE_NAMES.find((f) => existsSync(path.join(resolved, f)));
    if (name === undefined) return;
    const file = path.join(resolved, name);
    const label = path.relative(process.cwd(), file) || file;
    const kustomization = parse(readFileSync(file, "utf8")) ?? {};
    for (const generator of kustomization.secretGenerator ?? []) {
      const where = `${label}: secretGenerator ${generator.name}`;
      generatedSecrets.push(generator.name);
      if ((generator.literals ?? []).length > 0) {
        problems.push(
          `${where} has literals, a committed secret; read them from files ` +
            "git ignores",
        );
      }
      for (const entry of [
        ...(generator.files ?? []),
        ...(generator.envs ?? []),
      ]) {
        const source = String(entry).includes("=")
          ? String(entry).slice(String(entry).indexOf("=") + 1)
          : String(entry);
        if (gitIgnored(path.resolve(resolved, source)) === false) {
          problems.push(
            `${where} reads ${source}, which git does not ignore: a ` +
              "committed secret",
          );
        }
      }
    }
    for (const entry of [
      ...(kustomization.resources ?? []),
      ...(kustomization.components ?? []),
    ]) {
      const target = path.resolve(resolved, String(entry));
      if (existsSync(target) && statSync(target).isDirectory()) visit(target);
    }
  };
  visit(directory);
  return { generatedSecrets, problems };
}
