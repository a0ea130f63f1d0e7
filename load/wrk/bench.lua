-- wrk script for load/bench.sh's closed-loop runs (saturation, one connection, many clients).
--   BODY_FILE    POST this file's bytes as application/json (GET when unset)
--   AUTH_HEADER  one more request header, `Name: value` (e.g. `Authorization: Bearer <token>`)
-- done() prints one line `WRK_JSON {...}` with counts and latency percentiles in microseconds.
--
-- Fixed-rate runs use load/fixed-rate instead: wrk's delay() has millisecond timers, so at R
-- requests per second it releases about R/1000 requests at once on each tick, and those bursts
-- add latency in proportion to the proxy's cost per request.

local body_file = os.getenv("BODY_FILE")
if body_file ~= nil and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local auth_header = os.getenv("AUTH_HEADER")
if auth_header ~= nil and auth_header ~= "" then
  local name, value = auth_header:match("^([^:%s]+):%s*(.-)%s*$")
  assert(name, "AUTH_HEADER: not 'Name: value'")
  wrk.headers[name] = value
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max))
end
