-- wrk script for bench/surveys_bench.py: replays requests prepared in a tab-separated file.
--
--   wrk -t2 -c16 -d10s -s bench/surveys.lua http://127.0.0.1:PORT -- FILE THREADS
--
-- FILE lines: METHOD <tab> PATH <tab> TOKEN <tab> BODY   (TOKEN and BODY may be "-").
-- wrk thread t (0-based) takes lines t, t+THREADS, t+2*THREADS... so no two threads share a line
-- (a resident's token); each thread sends its lines in order and, after its last one, starts
-- again at its first (a repeated response then answers 409: counted as non-2xx).
-- At the end each status code is printed on its own line as "STATUS <code> <count>".
-- The thread numbers, the status counts, reading FILE and the requests come from
-- wrk_common.lua next to this file.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
local common = dofile(here .. "wrk_common.lua")

local items = {}
local n = 0
local k = 0

function init(args)
  items = common.load(args[1], tonumber(args[2]))
  n = #items
end

function request()
  local item = items[(k % n) + 1]
  k = k + 1
  return common.plain(item)
end
