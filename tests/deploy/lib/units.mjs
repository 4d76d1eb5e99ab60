// Durations, Kubernetes quantities and Redis memory sizes, as numbers.

const DURATION_UNITS = {
  ns: 1e-9,
  us: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

// An absl/Go duration ("5s", "1m30s", "250ms") in seconds, or NaN.
export function parseDuration(text) {
  const value = String(text).trim();
  if (value === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/y;
  let seconds = 0;
  let at = 0;
  while (at < value.length) {
    part.lastIndex = at;
    const match = part.exec(value);
    if (!match) return NaN;
    seconds += Number(match[1]) * DURATION_UNITS[match[2]];
    at = part.lastIndex;
  }
  return at === 0 ? NaN : seconds;
}

const QUANTITY_SUFFIXES = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// A Kubernetes resource quantity ("250m", "1", "512Mi", "1e3") as a number
// of cores or bytes, or NaN.
export function parseQuantity(text) {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(
    String(text).trim(),
  );
  if (!match || !(match[2] in QUANTITY_SUFFIXES)) return NaN;
  return Number(match[1]) * QUANTITY_SUFFIXES[match[2]];
}

const REDIS_UNITS = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 2 ** 10,
  m: 1e6,
  mb: 2 ** 20,
  g: 1e9,
  gb: 2 ** 30,
};

// A size in Redis's notation ("192mb", "1gb", "1000000") in bytes, or NaN.
export function parseRedisSize(text) {
  const match = /^(\d+)([a-z]*)$/.exec(String(text).trim().toLowerCase());
  if (!match || !(match[2] in REDIS_UNITS)) return NaN;
  return Number(match[1]) * REDIS_UNITS[match[2]];
}
