// ---- What changed, and applying the store's copy ----

/** A session's data as this process last read or wrote it: key → text (JSON; a fingerprint for the cookie). */
export type Snapshot = Map<string, string>

/**
 * The keys changed locally since the snapshot, with their new text; the removed keys; and the keys whose value
 * JSON cannot write (a BigInt, a cycle, a throwing `toJSON`, nesting too deep for the stack).
 */
export interface Changes { changed: Map<string, string>, removed: string[], invalid: string[] }

/** The text of a value JSON cannot write: never the text of a stored value, so it always counts as a change. */
export const UNSERIALIZABLE = '\u0000'

/** A session object seen as its keys (`cookie` included; symbols and methods are not keys). */
type Data = Record<string, unknown>

/** A session cookie, as @fastify/session's Cookie or as its stored JSON. */
interface CookieLike {
  expires?: Date | string | null
  originalMaxAge?: number | null
  path?: unknown
  domain?: unknown
  secure?: unknown
  sameSite?: unknown
  httpOnly?: unknown
  partitioned?: unknown
}

/** A cookie's fingerprint: the same for a Cookie and its stored JSON, shorter and cheaper than the JSON. */
export function cookieText (c: CookieLike): string {
  const expires = c.expires == null ? '' : c.expires instanceof Date ? c.expires.getTime() : Date.parse(c.expires)
  return `${expires}|${c.originalMaxAge}|${c.path}|${c.domain}|${c.secure}|${c.sameSite}|${c.httpOnly}|${c.partitioned}`
}

/**
 * The text of `data[key]`; `undefined` for values JSON drops (they count as absent, as in a store). Never
 * throws: a value JSON cannot write (or a getter that throws) is `UNSERIALIZABLE`.
 */
function textOf (data: Data, key: string): string | undefined {
  try {
    const value = data[key]
    if (key === 'cookie' && value !== null && typeof value === 'object') return cookieText(value as CookieLike)
    return JSON.stringify(value)
  } catch {
    return UNSERIALIZABLE
  }
}

/** The snapshot of a session's current data. */
export function snapshot (session: Data): Snapshot {
  const base: Snapshot = new Map()
  for (const key of Object.keys(session)) {
    const value = textOf(session, key)
    if (value !== undefined && value !== UNSERIALIZABLE) base.set(key, value)
  }
  return base
}

/** The local changes since the snapshot, or undefined when there are none (then nothing is allocated). */
export function changes (session: Data, base: Snapshot): Changes | undefined {
  let changed: Map<string, string> | undefined
  let invalid: string[] | undefined
  let seen = 0
  for (const key of Object.keys(session)) {
    const value = textOf(session, key)
    if (value === undefined) continue
    const before = base.get(key)
    if (before !== undefined) seen++
    if (value === UNSERIALIZABLE) (invalid ??= []).push(key)
    else if (before !== value) (changed ??= new Map()).set(key, value)
  }
  const removed = seen === base.size ? [] : [...base.keys()].filter((key) => textOf(session, key) === undefined)
  if (changed === undefined && removed.length === 0 && invalid === undefined) return undefined
  return { changed: changed ?? new Map(), removed, invalid: invalid ?? [] }
}

/** Puts back the last stored value of each key (none: the key goes), in place of one that cannot be saved. */
export function revert (session: Data, base: Snapshot, keys: string[]): void {
  for (const key of keys) {
    // The cookie keeps its class; its fields are @fastify/session's to fix.
    if (key === 'cookie') continue
    const before = base.get(key)
    if (before === undefined) delete session[key]
    else session[key] = JSON.parse(before)
  }
}

/** The store's copy with the local changes laid over it: a new plain object, the stored one untouched. */
export function mergeOver (stored: Data, session: Data, local: Changes): Data {
  const merged: Data = {}
  for (const key of Object.keys(stored)) merged[key] = stored[key]
  for (const [key, value] of local.changed) {
    merged[key] = JSON.parse(key === 'cookie' ? JSON.stringify(session.cookie) : value)
  }
  for (const key of local.removed) delete merged[key]
  return merged
}

/** The JSON texts to store for the local changes (the cookie's fingerprint becomes its JSON). */
export function storedTexts (local: Changes, session: Data): Map<string, string> {
  if (!local.changed.has('cookie')) return local.changed
  const texts = new Map(local.changed)
  texts.set('cookie', JSON.stringify(session.cookie))
  return texts
}

/** Records in the snapshot that the local changes were written (the store's other keys are not known here). */
export function written (base: Snapshot, local: Changes): void {
  for (const [key, value] of local.changed) base.set(key, value)
  for (const key of local.removed) base.delete(key)
}

/** Puts a stored value into the live session (a copy); the cookie keeps its class and takes the stored expiry. */
function put (session: Data, key: string, value: unknown, json: string): void {
  const cookie = session.cookie as CookieLike | undefined
  if (key === 'cookie' && cookie !== undefined && value !== null && typeof value === 'object') {
    const stored = value as CookieLike
    cookie.expires = stored.expires ? new Date(stored.expires) : null
    cookie.originalMaxAge = stored.originalMaxAge ?? null
    return
  }
  session[key] = JSON.parse(json)
}

/** A key another writer stored (`value`, whose text is `json`): taken unless this process changed it too. */
function take (session: Data, base: Snapshot, key: string, value: unknown, json: string): void {
  if (textOf(session, key) === base.get(key)) put(session, key, value, json)
  base.set(key, json)
}

/** A key another writer removed: removed here too unless this process changed it. */
function drop (session: Data, base: Snapshot, key: string): void {
  if (textOf(session, key) === base.get(key)) delete session[key]
  base.delete(key)
}

/**
 * Brings the live session up to the store's copy: a key that changed in the store is taken unless this
 * process changed it too (then the local value wins at the next save). `written` holds what we just wrote.
 */
export function absorb (session: Data, base: Snapshot, stored: Data, written?: Map<string, string>): void {
  const seen = new Set<string>()
  for (const key of Object.keys(stored)) {
    seen.add(key)
    const mine = written?.get(key)
    if (mine !== undefined) {
      base.set(key, mine)
      continue
    }
    const value = textOf(stored, key)
    if (value === undefined || value === base.get(key)) continue
    take(session, base, key, stored[key], value)
  }
  for (const key of [...base.keys()]) {
    if (seen.has(key) || key === 'cookie') continue
    drop(session, base, key)
  }
}

/**
 * Takes in changes another writer merged into the store (`source` holds their values): a key is taken unless
 * this process changed it too, as in `absorb`.
 */
export function absorbChanges (session: Data, base: Snapshot, local: Changes, source: Data): void {
  for (const [key, value] of local.changed) take(session, base, key, source[key], value)
  for (const key of local.removed) drop(session, base, key)
}

/** Replaces the live session's data with the store's copy (reload): local changes are dropped. */
export function replaceWith (session: Data, base: Snapshot, stored: Data): void {
  base.clear()
  for (const [key, value] of snapshot(stored)) base.set(key, value)
  for (const key of Object.keys(session)) {
    if (key !== 'cookie' && !base.has(key)) delete session[key]
  }
  for (const [key, value] of base) put(session, key, stored[key], value)
}
