-- wrk script for scripts/bench-wrk: POSTs inbound messages to an api
-- channel. CUSTOMERS=N spreads them over N returning customers; CUSTOMERS=0
-- makes every message a new customer's (each one opens a new case).
-- Message ids are unique per thread and run, so nothing is a redelivery.
local customers = tonumber(os.getenv("CUSTOMERS") or "1000")
local token = os.getenv("INBOUND_TOKEN")
local next_id = 1
local counter = 0
local prefix = "x"

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  prefix = string.format("t%d-%d", thread_id, math.random(1, 1000000000))
end

function request()
  counter = counter + 1
  local customer
  if customers > 0 then
    customer = string.format("c%d", (counter * 7919 + thread_id) % customers)
  else
    customer = string.format("%s-n%d", prefix, counter)
  end
  local body = string.format(
    '{"type":"message","message_id":"%s-%d","customer":{"id":"%s","name":"Load"},"text":"hello %d"}',
    prefix, counter, customer, counter)
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

local failures = 0
function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    "wrk: %d requests in %.1f s: %.0f msgs/s; latency p50 %.1f ms, p99 %.1f ms; non-2xx %d, errors %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
