-- Shared by the wrk scripts bench/requests.lua and bench/surveys.lua, which load it with
-- dofile from their own folder. It defines wrk's setup, response and done: each thread gets its
-- number as the global tid, status codes are counted per thread and, at the end, printed summed
-- on their own lines as "STATUS <code> <count>". It returns:
--   load(path, nthreads): the items of thread tid, lines tid, tid+nthreads, tid+2*nthreads...
--                         of the tab-separated file, each split into its fields (an error if
--                         none), so the threads never share a line;
--   plain(item):          the request of a line METHOD <tab> PATH <tab> TOKEN <tab> BODY
--                         [<tab> COOKIE] (TOKEN, BODY may be "-": no Authorization header, no
--                         body; with a COOKIE, the request carries it and BODY is a form).

local common = {}
local thread_count = 0
local threads = {}
statuses = {}

function setup(thread)
  thread:set("tid", thread_count)
  table.insert(threads, thread)
  thread_count = thread_count + 1
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

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    table.insert(fields, field)
  end
  return fields
end

function common.load(path, nthreads)
  local items = {}
  local index = 0
  for line in io.lines(path) do
    if index % nthreads == tid and #line > 0 then
      table.insert(items, split(line))
    end
    index = index + 1
  end
  if #items == 0 then
    error("no items for thread " .. tid .. " in " .. path)
  end
  return items
end

function common.plain(item)
  local headers = {}
  if item[3] ~= "-" then
    headers["Authorization"] = "Bearer " .. item[3]
  end
  local body = nil
  if item[4] ~= nil and item[4] ~= "-" then
    body = item[4]
    headers["Content-Type"] = "application/json"
  end
  if item[5] ~= nil then  -- a browser's form: its session cookie, its body form-encoded
    headers["Cookie"] = item[5]
    if body ~= nil then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    end
  end
  return wrk.format(item[1], item[2], headers, body)
end

return common
