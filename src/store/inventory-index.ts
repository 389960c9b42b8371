/**
 * The lookup index of one hub's inventory, a Redis hash beside its records: `n:<peer>` and
 * `r:<requestId>` hold the public key of that peer name or request, `o:<owner>` the owner's keys
 * (space-separated; keys are base64, so never contain a space). Finding a peer by name, request or
 * owner then reads a few fields instead of parsing every record of every hub, which took about
 * 350 ms of the bot's CPU per command at 10 hubs of 10,000 peers.
 *
 * Every write of a record runs one of these scripts, which change record and index together
 * atomically. The first write to a hub with no records marks its fresh index `#built`; an index
 * without the marker (records written before the index existed, or an index lost on its own) is
 * rebuilt from the records inside the next lookup, once: about 140 ms of Redis time per 10,000
 * peers. Scripts take KEYS[1] = the records hash, KEYS[2] = the index hash.
 */

const LIB = `local function unindex(idx, key, raw)
  if not raw then return end
  local ok, r = pcall(cjson.decode, raw)
  if not ok or type(r) ~= 'table' then return end
  for _, field in ipairs({ 'n:' .. tostring(r.peer), 'r:' .. tostring(r.requestId) }) do
    if redis.call('HGET', idx, field) == key then redis.call('HDEL', idx, field) end
  end
  local field = 'o:' .. tostring(r.owner)
  local keys = redis.call('HGET', idx, field)
  if not keys then return end
  local kept = {}
  for k in string.gmatch(keys, '%S+') do
    if k ~= key then kept[#kept + 1] = k end
  end
  if #kept == 0 then redis.call('HDEL', idx, field) else redis.call('HSET', idx, field, table.concat(kept, ' ')) end
end
local function fresh(records, idx)
  if redis.call('EXISTS', records) == 0 then
    redis.call('DEL', idx)
    redis.call('HSET', idx, '#built', '1')
  end
end
local function index(idx, key, raw)
  local ok, r = pcall(cjson.decode, raw)
  if not ok or type(r) ~= 'table' or type(r.peer) ~= 'string' or type(r.requestId) ~= 'string' or type(r.owner) ~= 'string' then return end
  redis.call('HSET', idx, 'n:' .. r.peer, key, 'r:' .. r.requestId, key)
  local field = 'o:' .. r.owner
  local keys = redis.call('HGET', idx, field)
  if not keys then
    redis.call('HSET', idx, field, key)
  elseif not string.find(' ' .. keys .. ' ', ' ' .. key .. ' ', 1, true) then
    redis.call('HSET', idx, field, keys .. ' ' .. key)
  end
end
`;

/** ARGV: public key, record JSON. Writes (or replaces) the record. */
export const PUT_RECORD = `${LIB}
fresh(KEYS[1], KEYS[2])
unindex(KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
index(KEYS[2], ARGV[1], ARGV[2])`;

/** ARGV: public key. Deletes the record; returns its JSON, or false when there was none. */
export const REMOVE_RECORD = `${LIB}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
unindex(KEYS[2], ARGV[1], raw)
redis.call('HDEL', KEYS[1], ARGV[1])
return raw`;

/** ARGV: old public key, new public key, the record JSON under the new key (a finished rotation). */
export const REPLACE_RECORD = `${LIB}
unindex(KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
redis.call('HDEL', KEYS[1], ARGV[1])
fresh(KEYS[1], KEYS[2])
unindex(KEYS[2], ARGV[2], redis.call('HGET', KEYS[1], ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
index(KEYS[2], ARGV[2], ARGV[3])`;

/**
 * ARGV: an index field (`n:…`, `r:…` or `o:…`). Returns the JSON of the records it names (false
 * for one that is gone), building the index first when it has no `#built` marker.
 */
export const LOOKUP_RECORDS = `${LIB}
if redis.call('HEXISTS', KEYS[2], '#built') == 0 then
  redis.call('DEL', KEYS[2])
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do index(KEYS[2], all[i], all[i + 1]) end
  redis.call('HSET', KEYS[2], '#built', '1')
end
local keys = redis.call('HGET', KEYS[2], ARGV[1])
if not keys then return {} end
local list = {}
for k in string.gmatch(keys, '%S+') do list[#list + 1] = k end
return redis.call('HMGET', KEYS[1], unpack(list))`;

/** The index fields for a peer name, a request id and an owner. */
export const indexField = {
  peer: (peer: string) => `n:${peer}`,
  request: (requestId: string) => `r:${requestId}`,
  owner: (owner: string) => `o:${owner}`,
};
