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
export type Data = Record<string, unknown>

/** A session cookie, as @fastify/session's Cookie or as its stored JSON. */
export interface CookieLike {
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
export function textOf (data: Data, key: string): string | undefined {
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
