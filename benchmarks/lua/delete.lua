-- A delete (DELETE <path>/<id>) of a seeded id, each once: <prefix><thread>-<n>, n = 1, 2, ...
-- The server must hold enough of them (benchmarks.serve --seed-count); once they run out, deletes answer 404
-- and wrk counts them as status errors.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function init(args)
  read_args(args)
end

function request()
  sent = sent + 1
  return wrk.format("DELETE", path .. "/" .. word .. tid .. "-" .. sent, headers)
end
