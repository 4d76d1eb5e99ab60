// NetworkPolicies against the connections the configuration makes: a
// default deny, DNS open to every pod that resolves names, and for each
// connection an egress rule on the caller's side and an ingress rule on the
// callee's.

import { resolvePort, selectorMatches } from "./selectors.mjs";

function policyTypes(policy) {
  if (policy.spec?.policyTypes) return policy.spec.policyTypes;
  return policy.spec?.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function selecting(policies, workload, type) {
  return policies.filter(
    (policy) =>
      (policy.metadata?.namespace === undefined ||
        workload.namespace === undefined ||
        policy.metadata.namespace === workload.namespace) &&
      selectorMatches(policy.spec?.podSelector, workload.labels) &&
      policyTypes(policy).includes(type),
  );
}

// Whether a rule's peer stands for `workload`'s pods, which live in the
// policy's own namespace.
function peerMatches(peer, workload) {
  if (peer.ipBlock !== undefined) return false;
  if (peer.namespaceSelector !== undefined) {
    const selector = peer.namespaceSelector;
    const anyNamespace =
      Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0;
    const namespaceLabels =
      workload.namespace === undefined
        ? undefined
        : { "kubernetes.io/metadata.name": workload.namespace };
    if (!anyNamespace && !selectorMatches(selector, namespaceLabels)) {
      return false;
    }
  }
  if (peer.podSelector !== undefined) {
    return selectorMatches(peer.podSelector, workload.labels);
  }
  return true;
}

function portMatches(rulePorts, port, protocol, workload) {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((rule) => {
    if ((rule.protocol ?? "TCP") !== protocol) return false;
    if (rule.port === undefined) return true;
    const number =
      workload === undefined
        ? rule.port
        : resolvePort(rule.port, workload.containers);
    if (rule.endPort !== undefined) {
      return number <= port && port <= rule.endPort;
    }
    return number === port;
  });
}

function allows(policies, direction, peerWorkload, port, protocol, portOwner) {
  const key = direction === "Egress" ? "egress" : "ingress";
  const peersKey = direction === "Egress" ? "to" : "from";
  return policies.some((policy) =>
    (policy.spec?.[key] ?? []).some(
      (rule) =>
        (rule[peersKey] === undefined ||
          rule[peersKey].length === 0 ||
          (peerWorkload !== undefined &&
            rule[peersKey].some((peer) => peerMatches(peer, peerWorkload))) ||
          (peerWorkload === undefined &&
            rule[peersKey].some(
              (peer) => peer.namespaceSelector !== undefined,
            ))) &&
        portMatches(rule.ports, port, protocol, portOwner),
    ),
  );
}

export function checkNetworkPolicies(policies, workloads, edges) {
  if (policies.length === 0) return [];
  const problems = [];
  const denyAll = policies.some(
    (policy) =>
      selectorMatches(policy.spec?.podSelector, {}) &&
      Object.keys(policy.spec?.podSelector ?? {}).length === 0 &&
      policyTypes(policy).includes("Ingress") &&
      policyTypes(policy).includes("Egress") &&
      (policy.spec?.ingress ?? []).length === 0 &&
      (policy.spec?.egress ?? []).length === 0,
  );
  if (!denyAll) {
    problems.push(
      "NetworkPolicy: none denies all ingress and egress by default " +
        "(podSelector {}, policyTypes Ingress and Egress, no rules)",
    );
  }
  for (const workload of workloads) {
    const egress = selecting(policies, workload, "Egress");
    if (egress.length === 0) continue;
    for (const protocol of ["UDP", "TCP"]) {
      // The peer is the cluster's DNS, in another namespace.
      if (!allows(egress, "Egress", undefined, 53, protocol, undefined)) {
        problems.push(
          `${workload.name}: the network policies let it resolve no name ` +
            `(no egress to port 53/${protocol})`,
        );
      }
    }
  }
  for (const { from, to, port } of edges) {
    const egress = selecting(policies, from, "Egress");
    if (egress.length > 0 && !allows(egress, "Egress", to, port, "TCP", to)) {
      problems.push(
        `${from.name}: the network policies do not let it call ${to.name} ` +
          `on port ${port} (no egress rule)`,
      );
    }
    const ingress = selecting(policies, to, "Ingress");
    if (
      ingress.length > 0 &&
      !allows(ingress, "Ingress", from, port, "TCP", to)
    ) {
      problems.push(
        `${to.name}: the network policies do not let ${from.name} call it ` +
          `on port ${port} (no ingress rule)`,
      );
    }
  }
  return problems;
}
