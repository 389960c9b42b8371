/**
 * The Lua scripts Tunnelgate runs that are not tied to one store's data layout: the one
 * compare-and-set every JSON record uses, and its delete. Record-layout scripts live with their
 * store (inventory-index.ts, inventory.ts, audit-log.ts, requests.ts); nothing else sends Lua.
 */

/**
 * KEYS[1] = the record. ARGV[1] = the JSON read, ARGV[2] = the JSON to write, ARGV[3] = `keep`
 * (keep the key's TTL), whole seconds (a new TTL) or empty (no TTL). Writes only if the record
 * still holds ARGV[1]; returns 1 when written, 0 when someone else wrote in between.
 */
export const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == 'keep' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
elseif ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1`;

/** KEYS[1] = the record, ARGV[1] = the JSON read. Deletes it only if unchanged; returns 1 or 0. */
export const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;
