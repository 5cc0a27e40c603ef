-- wrk script for bench/surveys_bench.py: replays requests prepared in a tab-separated file.
--
--   wrk -t2 -c16 -d10s -s bench/surveys.lua http://127.0.0.1:PORT -- FILE THREADS
--
-- FILE lines: METHOD <tab> PATH <tab> TOKEN <tab> BODY   (TOKEN and BODY may be "-").
-- wrk thread t (0-based) takes lines t, t+THREADS, t+2*THREADS... so no two threads share a line
-- (a resident's token); each thread sends its lines in order and, after its last one, starts
-- again at its first (a repeated response then answers 409: counted as non-2xx).
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
statuses = {}

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
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
  local item = items[(k % n) + 1]
  local headers = {}
  if item[3] ~= "-" then
    headers["Authorization"] = "Bearer " .. item[3]
  end
  local body = nil
  if item[4] ~= nil and item[4] ~= "-" then
    body = item[4]
    headers["Content-Type"] = "application/json"
  end
  k = k + 1
  return wrk.format(item[1], item[2], headers, body)
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
