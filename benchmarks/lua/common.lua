-- Shared by the benchmark's wrk scripts: numbers the threads, reads the arguments, prints a JSON summary.
-- Arguments (after `--`): path, auth header name, auth header value, then a script-specific word.

local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

function read_args(args)
  path = args[1]
  headers = {}
  if args[2] ~= nil and args[2] ~= "" then
    headers[args[2]] = args[3]
  end
  word = args[4] or ""
  sent = 0
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max, latency.mean))
end
