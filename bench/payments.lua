-- wrk: sends pregenerated signed payments (REQUESTS=file, lines "signature<TAB>body"), each once.
-- Every answer but an approval counts as an error; the run fails if the list wraps.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local total = tonumber(os.getenv("WRK_THREADS") or "2")
  lines = {}
  local n = 0
  for line in io.lines(os.getenv("REQUESTS")) do
    if n % total == id then table.insert(lines, line) end
    n = n + 1
  end
  pos = 0
  wrapped = 0
  approved = 0
  errors = 0
  unavailable = 0
end

function request()
  pos = pos + 1
  if pos > #lines then
    wrapped = 1
    pos = 1
  end
  local line = lines[pos]
  local tab = line:find("\t", 1, true)
  local headers = {["Content-Type"] = "application/json", ["X-Evoucher-Signature"] = line:sub(1, tab - 1)}
  return wrk.format("POST", "/v1/processor/payments", headers, line:sub(tab + 1))
end

function response(status, headers, body)
  if status == 200 and body:find('"decision":"approved"', 1, true) then
    approved = approved + 1
  else
    errors = errors + 1
    if status == 503 then unavailable = unavailable + 1 end
  end
end

function done(summary, latency, requests)
  local a, e, u, w = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("approved")
    e = e + t:get("errors")
    u = u + t:get("unavailable")
    w = w + t:get("wrapped")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT approved=%d errors=%d unavailable=%d wrapped=%d seconds=%.2f approved_per_s=%.1f " ..
                         "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                         a, e, u, w, seconds, a / seconds, latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000, latency.max / 1000))
end
