-- A valid Blaxel create (POST <path>) with a unique metadata.name per request: b<run word>-<thread>-<n>.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  read_args(args)
  headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local name = string.format("b%s-%d-%d", word, tid, sent)
  local body = '{"metadata":{"name":"' .. name .. '","displayName":"bench","labels":{"team":"perf"}},' ..
    '"spec":{"enabled":true,"runtime":{"type":"openai","model":"gpt-4o-mini"}}}'
  return wrk.format("POST", path, headers, body)
end
