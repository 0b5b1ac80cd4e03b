import { createHash } from 'node:crypto'

// ---- The Lua scripts of the Redis store: each one command, atomic on the server ----
// A session is a Redis hash: one field per top-level key, each value the JSON text of that key; it is read
// with a plain HGETALL. A destroyed session leaves a string (a tombstone) under its key until its time would
// have run out, so that no late save brings it back. Scripts never parse JSON: values pass through as text.

/** A script and its SHA-1, for EVALSHA. */
export interface Script { source: string, sha: string }

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

/** Writes a whole session (HTTP saves); refuses (returns 0) when the session was destroyed. ARGV: ttl, then field/value pairs. */
export const SET = script(`
if redis.call('TYPE', KEYS[1]).ok == 'string' then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

/**
 * Lays changed keys over a stored session: 1; or, never recreating it, 0 for a destroyed session (a tombstone)
 * and 2 for none at all. ARGV: ttl ('' keeps the current one), the number n of removed keys, n keys, then
 * field/value pairs.
 */
export const MERGE = script(`
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'hash' then return t == 'none' and 2 or 0 end
local n = tonumber(ARGV[2])
for i = 3, 2 + n do redis.call('HDEL', KEYS[1], ARGV[i]) end
for i = 3 + n, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
`)

/** Destroys a session, leaving a tombstone for the rest of its time (at most ARGV[1] ms). */
export const DESTROY = script(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
local cap = tonumber(ARGV[1])
if ttl < 0 or ttl > cap then ttl = cap end
redis.call('SET', KEYS[1], '0', 'PX', ttl)
return 1
`)

/**
 * After a plain HSET that added every field it wrote: 1 when the session was there (it has a cookie); otherwise the
 * HSET made a hash of those fields alone, which is removed: 2 (no session), or 0 when it was destroyed meanwhile.
 */
export const SETTLE = script(`
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'hash' then return t == 'none' and 2 or 0 end
if redis.call('HEXISTS', KEYS[1], 'cookie') == 1 then return 1 end
redis.call('DEL', KEYS[1])
return 2
`)

// ---- Sessions live on several nodes (keys `{<session key>}:nodes` and `:lease`, in the session key's slot) ----

/** Counts a node among those that hold a session live: KEYS nodes; ARGV node, ttl. Returns how many do. */
export const JOIN = script(`
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('SCARD', KEYS[1])
`)

/**
 * Reads a session and the nodes that hold it live: KEYS session, nodes. Returns { hash as field, value, ... ; node
 * names } (both empty for a destroyed session or none).
 */
export const READ = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return { {}, {} } end
return { redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2]) }
`)

/** A node no longer holds a session live: KEYS nodes; ARGV node. */
export const LEAVE = script(`
return redis.call('SREM', KEYS[1], ARGV[1])
`)

/**
 * Takes a session's lease unless another holder has it, and reads the session: KEYS session, lease; ARGV token, ms.
 * Returns the session's hash as field, value, ...; 0 when the session is gone (no lease is kept); 1 when busy.
 */
export const ACQUIRE = script(`
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HEXISTS', KEYS[1], 'cookie') == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
return redis.call('HGETALL', KEYS[1])
`)

/** Gives a lease back if the token still holds it: KEYS lease; ARGV token. */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)
