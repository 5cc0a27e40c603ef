-- wrk script for bench/run.py: replays requests prepared in a tab-separated file.
--
--   wrk -t2 -c16 -d10s -s bench/requests.lua http://127.0.0.1:PORT -- FILE MODE THREADS SEQ_BASE
--
-- FILE lines, one per prepared item; wrk thread number t (0-based) takes lines t, t+THREADS,
-- t+2*THREADS... so the threads never share an item (a user, an attempt).
--   MODE "plain":  METHOD <tab> PATH <tab> TOKEN <tab> BODY   (TOKEN, BODY may be "-")
--                  items in order; after the last one the thread starts again at its first.
--   MODE "answer": ATTEMPT_ID <tab> TOKEN <tab> QUESTIONS
--                  request k of a thread: attempt k mod n, question (k div n) mod QUESTIONS + 1,
--                  seq SEQ_BASE + k: every write carries a higher seq than the last one stored.
-- At the end each status code is printed on its own line as "STATUS <code> <count>".
-- The thread numbers, the status counts, reading FILE and the plain requests come from
-- wrk_common.lua next to this file.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
local common = dofile(here .. "wrk_common.lua")

local items = {}
local n = 0
local k = 0
local mode = "plain"
local seq_base = 0
local keys = { "A", "B", "C", "D" }

function init(args)
  mode = args[2]
  seq_base = tonumber(args[4] or "0")
  items = common.load(args[1], tonumber(args[3]))
  n = #items
end

function request()
  local item = items[(k % n) + 1]
  local req
  if mode == "answer" then
    local question = (math.floor(k / n) % tonumber(item[3])) + 1
    local headers = {}
    headers["Authorization"] = "Bearer " .. item[2]
    headers["Content-Type"] = "application/json"
    local body = string.format('{"choices":["%s"],"seq":%d}', keys[(k % 4) + 1], seq_base + k)
    req = wrk.format("PUT", "/api/v1/attempts/" .. item[1] .. "/answers/" .. question, headers, body)
  else
    req = common.plain(item)
  end
  k = k + 1
  return req
end
