// ---- What changed, and applying the store's copy ----

/** A session's data as this process last read or wrote it: key → JSON text. */
export type Snapshot = Map<string, string>

/** The keys changed locally since the snapshot: new JSON per changed key, and removed keys. */
export interface Changes { changed: Map<string, string>, removed: string[] }

/** A session object seen as its keys (`cookie` included; symbols and methods are not keys). */
type Data = Record<string, unknown>

/** JSON text of one value, as a store would keep it; `undefined` for values JSON drops. */
function json (value: unknown): string | undefined {
  return JSON.stringify(value)
}

/** The snapshot of a session's current data. */
export function snapshot (session: Data): Snapshot {
  const base: Snapshot = new Map()
  for (const key of Object.keys(session)) {
    const text = json(session[key])
    if (text !== undefined) base.set(key, text)
  }
  return base
}

/** Whether any key differs from the snapshot (stops at the first difference). */
export function hasChanges (session: Data, base: Snapshot): boolean {
  let seen = 0
  for (const key of Object.keys(session)) {
    const text = json(session[key])
    if (text === undefined) continue
    if (base.get(key) !== text) return true
    seen++
  }
  return seen !== base.size
}

/** The local changes since the snapshot, or undefined when there are none. */
export function changes (session: Data, base: Snapshot): Changes | undefined {
  const changed = new Map<string, string>()
  const present = new Set<string>()
  for (const key of Object.keys(session)) {
    const text = json(session[key])
    if (text === undefined) continue
    present.add(key)
    if (base.get(key) !== text) changed.set(key, text)
  }
  const removed = [...base.keys()].filter((key) => !present.has(key))
  return changed.size === 0 && removed.length === 0 ? undefined : { changed, removed }
}

/** The store's copy with the local changes laid over it: a new plain object, the stored one untouched. */
export function mergeOver (stored: Data, local: Changes): Data {
  const merged: Data = {}
  for (const key of Object.keys(stored)) merged[key] = stored[key]
  for (const [key, text] of local.changed) merged[key] = JSON.parse(text)
  for (const key of local.removed) delete merged[key]
  return merged
}

/** Puts a stored value into the live session; the cookie keeps its class and takes the stored expiry. */
function put (session: Data, key: string, text: string): void {
  const value = JSON.parse(text)
  const cookie = session.cookie as { expires: Date | null, originalMaxAge: number | null } | undefined
  if (key === 'cookie' && cookie !== undefined && value !== null && typeof value === 'object') {
    cookie.expires = value.expires ? new Date(value.expires) : null
    cookie.originalMaxAge = value.originalMaxAge ?? null
    return
  }
  session[key] = value
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
    const text = json(stored[key])
    if (text === undefined || text === base.get(key)) continue
    if (json(session[key]) === base.get(key)) put(session, key, text)
    base.set(key, text)
  }
  for (const key of [...base.keys()]) {
    if (seen.has(key) || key === 'cookie') continue
    if (json(session[key]) === base.get(key)) delete session[key]
    base.delete(key)
  }
}

/** Replaces the live session's data with the store's copy (reload): local changes are dropped. */
export function replaceWith (session: Data, base: Snapshot, stored: Data): void {
  base.clear()
  for (const [key, text] of snapshot(stored)) base.set(key, text)
  for (const key of Object.keys(session)) {
    if (key !== 'cookie' && !base.has(key)) delete session[key]
  }
  for (const [key, text] of base) put(session, key, text)
}
