-- wrk script: an agency at work. Run with as many threads as connections (wrk -tN -cN), so
-- that each thread is one worker on one connection whose requests and responses alternate;
-- the worker's state (the case it holds) then needs no bookkeeping across connections.
--
-- Environment:
--   CF_USERS  file of "role token" lines, one per worker (bench/run.py writes it)
--   CF_MIX    percent queue reads, case reads, actions; default "80,15,5"
--   CF_CASES  "lo,hi": case ids to read
--
-- An action is a claim-next (POST /api/queue/next) when the worker holds nothing, else the
-- forward action the case offers (accept, recommend_approve, approve, forward or clear) with the case's
-- version, or a release when it offers none of them. Every request carries the worker's JWT.

local threads = {}
local count = 0

function setup(thread)
   count = count + 1
   thread:set("index", count)
   table.insert(threads, thread)
end

local FORWARD = { "accept", "recommend_approve", "approve", "forward", "clear" }
local QUEUES = {
   "/api/queue?limit=50",
   "/api/queue?limit=50",
   "/api/queue?limit=50&unassigned=true",
   "/api/queue?limit=20&sla=at_risk",
   "/api/queue?limit=50&family=trauma",
   "/api/queue?limit=20&mine=true",
}

local headers, read_pct, case_pct, lo, hi
local holding = nil -- { id, version, action }
local last = nil
acts, nexts, empty, releases, refused = 0, 0, 0, 0, 0

function init(args)
   local mine = nil
   local n = 0
   for line in io.lines(os.getenv("CF_USERS")) do
      n = n + 1
      if n == index then
         mine = line
      end
   end
   if mine == nil then
      error("CF_USERS has " .. n .. " workers; run wrk with at most that many threads")
   end
   local role, token = mine:match("^(%S+)%s+(%S+)$")
   headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
   local mix = os.getenv("CF_MIX") or "80,15,5"
   local q, c = mix:match("^(%d+),(%d+),%d+$")
   read_pct, case_pct = tonumber(q), tonumber(c)
   local a, b = (os.getenv("CF_CASES") or "1,1"):match("^(%d+),(%d+)$")
   lo, hi = tonumber(a), tonumber(b)
   math.randomseed(index * 7919 + os.time())
end

local function action_request()
   if holding == nil then
      last = "next"
      return wrk.format("POST", "/api/queue/next", headers, "")
   end
   if holding.action == nil then
      last = "release"
      return wrk.format("POST", "/api/cases/" .. holding.id .. "/release", headers, "")
   end
   last = "act"
   local body = string.format('{"action":"%s","expected_version":%d,"comment":"bench"}',
      holding.action, holding.version)
   return wrk.format("POST", "/api/cases/" .. holding.id .. "/actions", headers, body)
end

function request()
   local r = math.random(100)
   if r <= read_pct then
      last = "queue"
      return wrk.format("GET", QUEUES[math.random(#QUEUES)], headers)
   elseif r <= read_pct + case_pct then
      last = "case"
      return wrk.format("GET", "/api/cases/" .. math.random(lo, hi), headers)
   end
   return action_request()
end

-- The case a claim-next handed over, and the forward action it offers this worker.
local function held(body)
   local id = body:match('^{"id":(%d+)')
   local version = body:match('"version":(%d+)')
   local offered = body:match('"actions":%[(.-)%]') or ""
   local action = nil
   for _, name in ipairs(FORWARD) do
      if offered:find('"name":"' .. name .. '"', 1, true) then
         action = name
         break
      end
   end
   return { id = tonumber(id), version = tonumber(version), action = action }
end

function response(status, headers, body)
   if last == "next" then
      if status == 200 then
         nexts = nexts + 1
         holding = held(body)
      elseif status == 204 then
         empty = empty + 1
      else
         refused = refused + 1
      end
   elseif last == "act" or last == "release" then
      if status == 200 then
         if last == "act" then acts = acts + 1 else releases = releases + 1 end
      else
         refused = refused + 1
      end
      holding = nil
   end
end

function done(summary, latency, requests)
   local total = { acts = 0, nexts = 0, empty = 0, releases = 0, refused = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(total) do
         total[name] = total[name] + thread:get(name)
      end
   end
   local e = summary.errors
   io.write(string.format(
      'CF_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
      '"p50_us":%d,"p99_us":%d,"max_us":%d,"acts":%d,"nexts":%d,"empty":%d,"releases":%d,"refused":%d}\n',
      summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max,
      total.acts, total.nexts, total.empty, total.releases, total.refused))
end
