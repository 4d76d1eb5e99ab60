// What the deployment files must agree with that no --help tells: the gRPC
// health services, the images, and which component each address flag names.

// The servers: readiness is reported on the full service name, liveness on
// the empty one.
export const SERVERS = {
  "thb-registry": { health: "thb.registry.v1.CountryRegistryService" },
  "thb-cooperation": { health: "thb.cooperation.v1.CooperationRecordService" },
  // Its readiness waits for the first sync, which may take a while: it gets
  // a startup probe so that a slow sync is not taken for a dead process.
  "thb-aggregator": {
    health: "thb.stats.v1.StatisticsService",
    needsStartupProbe: true,
  },
};

// After the drain, the server lets the calls in flight finish for this long
// (ServerOptions::shutdown_grace) before it exits.
export const SHUTDOWN_GRACE_SECONDS = 5;

// The images of the suite, by their name without registry and tag, and the
// binary each runs.
export const IMAGES = {
  "thb-registry": "thb-registry",
  "thb-cooperation": "thb-cooperation",
  "thb-aggregator": "thb-aggregator",
  "thb-thbctl": "thbctl",
  redis: "redis",
};

// The Dockerfiles of deploy/docker, by file name.
export const DOCKERFILES = {
  "registry.Dockerfile": "thb-registry",
  "cooperation.Dockerfile": "thb-cooperation",
  "aggregator.Dockerfile": "thb-aggregator",
  "thbctl.Dockerfile": "thbctl",
};

// The flags whose value is the address of another component.
export const ADDRESS_FLAGS = {
  registry: "thb-registry",
  cooperation: "thb-cooperation",
  aggregator: "thb-aggregator",
  redis: "redis",
};

// The component clients balance over with round_robin: it must be reached
// through a headless Service, whose DNS name answers every replica.
export const ROUND_ROBIN = "thb-aggregator";

// The binary an image reference runs, or undefined: "thb-aggregator:0.1.0",
// "registry.example/thb/thb-registry@sha256:..." and "redis:7" all count.
export function binaryOfImage(image) {
  return IMAGES[imageName(image)];
}

export function imageName(image) {
  const withoutDigest = String(image).split("@")[0];
  const last = withoutDigest.split("/").pop();
  return last.split(":")[0];
}

// The tag or digest of an image reference ("" when it has neither).
export function imageVersion(image) {
  const text = String(image);
  if (text.includes("@")) return text.slice(text.indexOf("@") + 1);
  const last = text.split("/").pop();
  return last.includes(":") ? last.slice(last.indexOf(":") + 1) : "";
}
