-- bench/lib/kv-put.lua: wrk script for bench/etcd.sh. Every request PUTs a new key into Replicode's kv app
-- through the gateway: PUT /kv/<key> with the value as the body (kv answers 201 Created).
--
--   wrk -s bench/lib/kv-put.lua http://127.0.0.1:8080/kv/ -- PREFIX
--
-- Key of the n-th request (n from 1) of wrk thread t (t from 1): PREFIX-t-n; its value: v:PREFIX-t-n.
-- bench/etcd.sh reads PREFIX-1-2 back after the run (wrk never sends the first request of thread 1:
-- it only uses it to check the script), so keep this scheme in step with etcd-put.lua.
-- Keys are made of [A-Za-z0-9-] only, so they need no percent-encoding in the path.

-- setup runs in the main Lua state, once per wrk thread, before the thread starts: number the threads.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

-- From here on, each wrk thread has its own Lua state: prefix, base and n are per thread.
local prefix = "k"
local base = "/kv/"
local n = 0

function init(args)
  prefix = args[1] or prefix
  base = wrk.path:sub(-1) == "/" and wrk.path or wrk.path .. "/"
  wrk.method = "PUT"
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function request()
  n = n + 1
  local key = prefix .. "-" .. tid .. "-" .. n
  return wrk.format(nil, base .. key, nil, "v:" .. key)
end
