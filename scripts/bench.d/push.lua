-- wrk script: POST user messages to Herald's API, one random user of HERALD_BENCH_USERS per
-- message; HERALD_BENCH_BATCH > 1 sends that many messages per request to the batch endpoint.
local app = os.getenv("HERALD_BENCH_APP")
local secret = os.getenv("HERALD_BENCH_SECRET")
local qos = os.getenv("HERALD_BENCH_QOS") or "1"
local users = tonumber(os.getenv("HERALD_BENCH_USERS") or "10000")
local batch = tonumber(os.getenv("HERALD_BENCH_BATCH") or "1")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. secret

local function message()
  return '{"users":["u' .. math.random(1, users) .. '"],"payload":"herald bench payload 0123456789","qos":' .. qos .. '}'
end

request = function()
  if batch <= 1 then
    return wrk.format(nil, "/v1/apps/" .. app .. "/messages", nil, message())
  end
  local parts = {}
  for i = 1, batch do parts[i] = message() end
  return wrk.format(nil, "/v1/apps/" .. app .. "/messages/batch", nil, '{"messages":[' .. table.concat(parts, ",") .. ']}')
end

local failures = 0
response = function(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("HERALD_BENCH requests=%d seconds=%.3f errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, seconds, bad, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
