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

local thread_count = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  table.insert(threads, thread)
  thread_count = thread_count + 1
end

local items = {}
local n = 0
local k = 0
local mode = "plain"
local seq_base = 0
local keys = { "A", "B", "C", "D" }
statuses = {}

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local path, nthreads = args[1], tonumber(args[3])
  mode = args[2]
  seq_base = tonumber(args[4] or "0")
  local index = 0
  for line in io.lines(path) do
    if index % nthreads == tid and #line > 0 then
      table.insert(items, split(line))
    end
    index = index + 1
  end
  n = #items
  if n == 0 then
    error("no items for thread " .. tid .. " in " .. path)
  end
end

function request()
  local headers = {}
  local item = items[(k % n) + 1]
  local req
  if mode == "answer" then
    local question = (math.floor(k / n) % tonumber(item[3])) + 1
    headers["Authorization"] = "Bearer " .. item[2]
    headers["Content-Type"] = "application/json"
    local body = string.format('{"choices":["%s"],"seq":%d}', keys[(k % 4) + 1], seq_base + k)
    req = wrk.format("PUT", "/api/v1/attempts/" .. item[1] .. "/answers/" .. question, headers, body)
  else
    if item[3] ~= "-" then
      headers["Authorization"] = "Bearer " .. item[3]
    end
    local body = nil
    if item[4] ~= nil and item[4] ~= "-" then
      body = item[4]
      headers["Content-Type"] = "application/json"
    end
    req = wrk.format(item[1], item[2], headers, body)
  end
  k = k + 1
  return req
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, count in pairs(counts) do
      total[code] = (total[code] or 0) + count
    end
  end
  for code, count in pairs(total) do
    io.write(string.format("STATUS %d %d\n", code, count))
  end
end
