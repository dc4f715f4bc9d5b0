-- wrk script of the benchmarks (driven by common.py's wrk()).
-- BENCH_PATHS: a file of request paths, one a line; each thread walks it from its own random start.
-- BENCH_HEADERS: extra request headers, "Name: value" a line (e.g. If-None-Match, Accept-Encoding).
-- BENCH_DELAY_MS: when set, each connection waits this long between requests (a lighter load).
-- At the end one line "BENCH_JSON {...}" gives requests, duration, latency percentiles, errors and
-- the count of every response status (wrk itself only counts "not 2xx or 3xx").

local threads = {}
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

local paths = {}
local headers = {}
local position = 1
statuses = {}

function init(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then
      table.insert(paths, line)
    end
  end
  for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    if name then
      headers[name] = value
    end
  end
  math.randomseed(os.time() * 100 + thread_no)
  position = math.random(#paths)
end

function request()
  local path = paths[position]
  position = position % #paths + 1
  return wrk.format("GET", path, headers)
end

function response(status, response_headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  print(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, "p50": %d, "p75": %d, "p90": %d, "p99": %d}, '
      .. '"statuses": {%s}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    table.concat(parts, ", ")))
end
