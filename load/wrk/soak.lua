-- Mixed traffic for load/soak.py: every route kind and outcome, weighted, some requests on new
-- connections. Paths are the soak gateway's routes (load/soak.py writes them).
local small = '{"hello":"soak","n":12345}'
local big = '{"pad":"' .. string.rep("x", 100 * 1024) .. '"}'  -- over the 64 KiB retry buffer

local mix = {
  -- weight, method, path, body, close
  {30, "POST", "/open/a?x=1", small, false},   -- function_uri unsigned, streamed
  {20, "POST", "/iam/a", small, false},        -- function_uri SigV4
  { 2, "POST", "/iam/big", big, false},        -- signed body over 64 KiB (subrequest pipe)
  {25, "POST", "/echo", small, false},         -- Invoke, raw event
  {10, "POST", "/v2/items/7?q=1", small, false}, -- Invoke, API Gateway v2 event + proxy result
  { 3, "POST", "/stream", '{"chunks":4,"delay_ms":1}', false}, -- InvokeWithResponseStream
  { 3, "POST", "/throttle", small, false},     -- 429 mapped, not retried
  { 2, "POST", "/unhandled", small, false},    -- function error 502
  { 2, "POST", "/slow", '{"ms":400}', false},  -- 504 at the route's 200 ms timeout
  { 1, "POST", "/refused/a", small, false},    -- connect refused: retried, then 502
  { 1, "POST", "/nodns/a", small, false},      -- unresolvable host: 502
  { 1, "GET",  "/no-route", nil, false},       -- 404
  { 5, "POST", "/echo", small, true},          -- a new connection each time
}

local total = 0
for _, m in ipairs(mix) do total = total + m[1] end

local prepared = {}
for _, m in ipairs(mix) do
  local headers = {["Content-Type"] = "application/json"}
  if m[5] then headers["Connection"] = "close" end
  prepared[#prepared + 1] = {m[1], wrk.format(m[2], m[3], headers, m[4])}
end

request = function()
  local r = math.random(total)
  for _, p in ipairs(prepared) do
    r = r - p[1]
    if r <= 0 then return p[2] end
  end
  return prepared[1][2]
end

-- Status counts come from the gateway's own metrics (requests_total by status class).
done = function(summary, latency, requests)
  io.write(string.format('SOAK_JSON {"requests":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
