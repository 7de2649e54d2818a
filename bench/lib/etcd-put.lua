-- bench/lib/etcd-put.lua: wrk script for bench/etcd.sh. Every request PUTs a new key through etcd's JSON
-- gRPC gateway: POST /v3/kv/put with {"key": base64(key), "value": base64(value)}.
--
--   wrk -s bench/lib/etcd-put.lua http://127.0.0.1:2379/v3/kv/put -- PREFIX
--
-- Key of the n-th request (n from 1) of wrk thread t (t from 1): PREFIX-t-n; its value: v:PREFIX-t-n.
-- bench/etcd.sh reads PREFIX-1-2 back after the run (wrk never sends the first request of thread 1:
-- it only uses it to check the script), so keep this scheme in step with kv-put.lua.

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Standard base64 (RFC 4648, with padding); wrk's LuaJIT has none built in.
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1)
      .. (b and b64chars:sub(c3 + 1, c3 + 1) or "=")
      .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- setup runs in the main Lua state, once per wrk thread, before the thread starts: number the threads.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

-- From here on, each wrk thread has its own Lua state: prefix and n are per thread.
local prefix = "k"
local n = 0

function init(args)
  prefix = args[1] or prefix
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  local key = prefix .. "-" .. tid .. "-" .. n
  local body = '{"key":"' .. base64(key) .. '","value":"' .. base64("v:" .. key) .. '"}'
  return wrk.format(nil, nil, nil, body)
end
