-- wrk script for bench/events_wrk.py: each request a distinct ONCRMACTIVITYADD, form-encoded as a portal posts it
-- (PHP http_build_query, notes §2.1), signed with the bench portal's application_token; the responses are counted.
-- TB_MEMBER_ID, TB_TOKEN and TB_RUN come from the environment (TB_RUN keeps runs' ts apart).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   counter, ok, accepted, other = 0, 0, 0, 0
   local member = os.getenv("TB_MEMBER_ID")
   local token = os.getenv("TB_TOKEN")
   prefix = os.getenv("TB_RUN") .. string.format("%02d", tid)
   tail = "&auth%5Baccess_token%5D=" .. string.rep("a", 70)
      .. "&auth%5Bexpires%5D=1762093575&auth%5Bexpires_in%5D=3600&auth%5Bscope%5D=crm"
      .. "&auth%5Bdomain%5D=demo.bitrix24.test"
      .. "&auth%5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%5Bstatus%5D=L"
      .. "&auth%5Bclient_endpoint%5D=https%3A%2F%2Fdemo.bitrix24.test%2Frest%2F"
      .. "&auth%5Bmember_id%5D=" .. member .. "&auth%5Buser_id%5D=1"
      .. "&auth%5Brefresh_token%5D=" .. string.rep("r", 70)
      .. "&auth%5Bapplication_token%5D=" .. token
   headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
end

function request()
   counter = counter + 1
   local body = "event=ONCRMACTIVITYADD&event_handler_id=7&data%5BFIELDS%5D%5BID%5D=" .. (counter % 2000 + 1)
      .. "&ts=" .. prefix .. string.format("%09d", counter) .. tail
   return wrk.format("POST", "/events", headers, body)
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
      if string.find(body, '"accepted"', 1, true) then accepted = accepted + 1 end
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local sums = {ok = 0, accepted = 0, other = 0}
   for _, thread in ipairs(threads) do
      for name, _ in pairs(sums) do sums[name] = sums[name] + thread:get(name) end
   end
   io.write(string.format("TB ok=%d accepted=%d other=%d p50=%.3f p99=%.3f\n", sums.ok, sums.accepted,
      sums.other, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
