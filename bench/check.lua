-- wrk script: poll check (or text status) for random request ids read from HORDE_BENCH_IDS.
local ids = {}
local path = os.getenv("HORDE_BENCH_PATH") or "/api/v2/generate/check/"

function init(args)
  for line in io.lines(os.getenv("HORDE_BENCH_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  return wrk.format("GET", path .. ids[math.random(#ids)])
end
