-- bot.lua - wrk script for bench/bot.sh: POST /webhook a Telegram "/screen" update, each with
-- its own update_id (the server drops an update_id it has seen, so repeating one would measure
-- the duplicate path), and check that every answer is a 200 carrying the inline sendMessage.
--
--   wrk -t T -c C -d D --latency -s bench/bot.lua URL/webhook -- SECRET RATE THREADS
--
-- RATE > 0 paces the run at RATE requests/s in all (wrk 4 has no rate option): each thread
-- hands out send times RATE/THREADS apart and delay() holds a connection until its time. The
-- schedule is absolute, so a slow answer does not lower the rate, it only uses up the slack.
-- RATE 0: no pacing, every connection sends as soon as its previous answer is in.
--
-- done() prints one line "bot.lua: key=value ..." that bot.sh reads; latencies in µs.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bot_bench_timespec;
int clock_gettime(int clock, bot_bench_timespec *ts);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bot_bench_timespec")

local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) / 1e6
end

-- ---- main thread: number the threads, sum their counts at the end --------------------------

local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("id", #threads)
end

function done(summary, latency, requests)
    local good, bad, first_bad = 0, 0, ""
    for _, t in ipairs(threads) do
        good = good + t:get("good")
        bad = bad + t:get("bad")
        if first_bad == "" then
            first_bad = t:get("first_bad")
        end
    end
    local e = summary.errors
    io.write(string.format(
        "bot.lua: requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
        "p999_us=%d max_us=%d good=%d bad=%d socket_errors=%d timeouts=%d\n",
        summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency:percentile(99.9), latency.max, good, bad,
        e.connect + e.read + e.write, e.timeout))
    if first_bad ~= "" then
        io.write("bot.lua: first bad answer: " .. first_bad .. "\n")
    end
end

-- ---- each thread ------------------------------------------------------------------------------

local secret, interval_ms, next_ms
local update_id

good, bad, first_bad = 0, 0, ""

function init(args)
    secret = args[1] or error("bot.lua: usage: -- SECRET RATE THREADS")
    local rate, nthreads = tonumber(args[2] or "0"), tonumber(args[3] or "1")
    if rate > 0 then
        interval_ms = 1e3 * nthreads / rate
    else
        delay = nil -- wrk then sends without a timer in between
    end
    -- Thread k numbers its updates from k * 1e9 + 1: distinct across threads and runs of a size
    -- wrk reaches.
    update_id = id * 1e9
end

function delay()
    local now = now_ms()
    next_ms = next_ms and next_ms + interval_ms or now
    -- wrk's timers count whole milliseconds: round up, never send early.
    return math.max(0, math.ceil(next_ms - now))
end

function request()
    update_id = update_id + 1
    local body = string.format(
        '{"update_id":%d,"message":{"message_id":1,"chat":{"id":7,"type":"private"},' ..
        '"date":1,"text":"/screen"}}', update_id)
    return wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Telegram-Bot-Api-Secret-Token"] = secret,
    }, body)
end

function response(status, headers, body)
    if status == 200 and body and body:find('"method":"sendMessage"', 1, true) then
        good = good + 1
        return
    end
    bad = bad + 1
    if first_bad == "" then
        first_bad = string.format("status %d, body %q", status, (body or ""):sub(1, 200))
    end
end
