// Shared settings for the k6 scripts in load/k6 (official k6 v1; see load/README.md).
//
// Environment variables (k6 run -e NAME=VALUE, or the process environment):
//   PROFILE     smoke (default) | soak
//   BASE_URL    the gateway, default http://127.0.0.1:8080 (scripts/demo.sh)
//   ROUTE       path on the gateway; each script has a default matching conf/demo.yaml
//   RATE        requests per second (constant-arrival-rate); default by profile and script
//   DURATION    e.g. 30s, 10m, 2h; default by profile
//   P99_MS      http_req_duration p(99) threshold in ms; default by script
//   VUS, MAX_VUS  pre-allocated and maximum VUs; default by profile and rate
//   EMULATOR_CHECKS  1 (default) also checks what the bundled emulator answers (echoed payloads,
//               auth mode seen by the stage); set 0 against real AWS, where only the status counts
//   BODY_BYTES  request body size where a script sends a generated JSON body
//   INSECURE    1 skips TLS verification of BASE_URL (self-signed test gateways)

export const PROFILES = {
  // A few requests per second for a short time: does every route work, within thresholds?
  smoke: { rate: 5, duration: '30s', vus: 5, maxVus: 20 },
  // Sustained load for a long time: leaks, pool churn, credential refreshes, slow drift.
  soak: { rate: 100, duration: '1h', vus: 50, maxVus: 500 },
};

export const PROFILE = (__ENV.PROFILE || 'smoke').toLowerCase();
if (!PROFILES[PROFILE]) {
  throw new Error(`PROFILE must be one of ${Object.keys(PROFILES).join(', ')} (got ${PROFILE})`);
}

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const EMULATOR_CHECKS = (__ENV.EMULATOR_CHECKS || '1') !== '0';

export function num(name, fallback) {
  const v = __ENV[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${v})`);
  return n;
}

/** The full URL of ROUTE (or the script's default route). */
export function url(defaultRoute) {
  const route = __ENV.ROUTE || defaultRoute;
  return BASE_URL + (route.startsWith('/') ? route : `/${route}`);
}

/**
 * k6 options: one constant-arrival-rate scenario and the thresholds.
 *   p99Ms      default p(99) threshold (P99_MS overrides)
 *   rateScale  multiplies the profile's default rate (e.g. 0.2 for 1 MB bodies)
 */
export function options({ p99Ms, rateScale = 1, extraThresholds = {} } = {}) {
  const profile = PROFILES[PROFILE];
  const rate = Math.max(1, Math.round(num('RATE', profile.rate * rateScale)));
  const vus = Math.round(num('VUS', Math.min(profile.vus, Math.max(1, rate))));
  const maxVus = Math.round(num('MAX_VUS', Math.max(profile.maxVus, vus)));
  return {
    scenarios: {
      [PROFILE]: {
        executor: 'constant-arrival-rate',
        rate,
        timeUnit: '1s',
        duration: __ENV.DURATION || profile.duration,
        preAllocatedVUs: vus,
        maxVUs: maxVus,
      },
    },
    thresholds: Object.assign(
      {
        http_req_failed: ['rate<0.01'],
        http_req_duration: [`p(99)<${num('P99_MS', p99Ms)}`],
        checks: ['rate>0.99'],
      },
      extraThresholds,
    ),
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
    insecureSkipTLSVerify: __ENV.INSECURE === '1',
  };
}

/** A JSON object of exactly `bytes` bytes: {"pad":"xxxx..."} (at least 10 bytes). */
export function jsonOfSize(bytes) {
  const n = Math.max(10, bytes);
  return `{"pad":"${'x'.repeat(n - 10)}"}`;
}

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** Parses a JSON body; null when it is not JSON. */
export function json(res) {
  try {
    return JSON.parse(res.body);
  } catch (e) {
    return null;
  }
}

/** Any 2xx status. */
export function ok2xx(res) {
  return res.status >= 200 && res.status < 300;
}
