// Validation of Kubernetes objects against the API's OpenAPI schemas, with
// the model classes of kubernetes-models, picked by apiVersion and kind.

const models = new Map();

async function modelOf(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    // "apps/v1" -> kubernetes-models/apps/v1/Kind; the core group "v1" ->
    // kubernetes-models/v1/Kind; cert-manager's groups from its own package.
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
    const specifier = group.endsWith("cert-manager.io")
      ? `@kubernetes-models/cert-manager/${apiVersion}/${kind}`
      : `kubernetes-models/${apiVersion}/${kind}`;
    let model;
    try {
      model = (await import(specifier))[kind];
    } catch {
      model = undefined;
    }
    models.set(key, model);
  }
  return models.get(key);
}

// The schema's complaints about `object`, as strings; empty when it is valid.
export async function schemaProblems(object) {
  const { apiVersion, kind } = object ?? {};
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["has no apiVersion and kind"];
  }
  const Model = await modelOf(apiVersion, kind);
  if (Model === undefined) {
    return [
      `${apiVersion} ${kind} is not a kind of the Kubernetes API or cert-manager`,
    ];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const details = error.errors ?? error.validation?.errors;
    if (!Array.isArray(details) || details.length === 0) {
      return [`invalid: ${error.message}`];
    }
    return details.map((detail) => {
      const where = detail.instancePath || "/";
      const extra =
        detail.params?.allowedValues !== undefined
          ? ` (${detail.params.allowedValues.join(", ")})`
          : "";
      return `schema: ${where} ${detail.message}${extra}`;
    });
  }
}
