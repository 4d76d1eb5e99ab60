// Label selectors and ports, as the API server and kube-proxy read them.

// A LabelSelector ({matchLabels, matchExpressions}); an empty one selects
// every pod.
export function selectorMatches(selector, labels) {
  if (selector === undefined || selector === null) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ??
    []) {
    const has = labels !== undefined && key in labels;
    const value = labels?.[key];
    if (operator === "In" && !(has && values.includes(value))) return false;
    if (operator === "NotIn" && has && values.includes(value)) return false;
    if (operator === "Exists" && !has) return false;
    if (operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// A Service's selector, a plain map; a Service without one selects nothing.
export function serviceSelects(service, labels) {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return false;
  return selectorMatches({ matchLabels: selector }, labels);
}

// The number a port reference (a number or the name of a container port)
// stands for in a container, or undefined.
export function resolvePort(reference, containers) {
  if (typeof reference === "number") return reference;
  if (typeof reference === "string" && /^\d+$/.test(reference)) {
    return Number(reference);
  }
  for (const container of containers) {
    for (const port of container.ports ?? []) {
      if (port.name === reference) return port.containerPort;
    }
  }
  return undefined;
}
