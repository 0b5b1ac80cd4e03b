import { UNSERIALIZABLE, textOf, type Changes, type CookieLike, type Data } from './merge.js'

// ---- What the handlers of a live session touched: the keys they wrote, the objects they were handed ----
// A save looks only at those keys, so that its cost follows what a handler touched, not what the session holds.

/** Where the proxy's traps find the tracker of a session object. */
const kTracker = Symbol('fastify-socket.io-session.tracker')

const trackerOf = (target: Data): Tracker => (target as { [kTracker]: Tracker })[kTracker]

/** The traps of every session view: writes and deletes mark their key; an object read is handed out. */
const traps: ProxyHandler<Data> = {
  get (target, key, receiver) {
    const value = Reflect.get(target, key, receiver) as unknown
    if (typeof key !== 'string' || value === null || typeof value !== 'object' || !Object.hasOwn(target, key)) return value
    return trackerOf(target).handOut(key)
  },
  set (target, key, value) {
    if (typeof key === 'string') trackerOf(target).write(key)
    return Reflect.set(target, key, value)
  },
  deleteProperty (target, key) {
    if (typeof key === 'string') trackerOf(target).write(key)
    return Reflect.deleteProperty(target, key)
  },
  defineProperty (target, key, descriptor) {
    if (typeof key === 'string') trackerOf(target).write(key)
    return Reflect.defineProperty(target, key, descriptor)
  }
}

/**
 * The keys of one live session that may differ from the store, and the text the store holds for each of them.
 * A key is tracked once a handler wrote it (through `view`), or was handed its object value, which it may change
 * in place at any later time: such a key is compared with its stored text at every check. The other keys cost
 * nothing. With a store that shares its objects (a memory store), an object is copied when it is first handed out.
 */
export class Tracker {
  /** The session as handlers see it: the data behind a proxy that tells the tracker what they touch. */
  readonly view: Data
  /** Keys written or removed since the last save began. */
  private dirty: Set<string> | undefined
  /** The keys of the save in progress. */
  private sending: Set<string> | undefined
  /** Keys whose object value was handed out. */
  private watched: Set<string> | undefined
  /** For each dirty, sending or watched key: its text in the store as last known (undefined: absent). */
  private readonly known = new Map<string, string | undefined>()
  /** With a store that shares its objects: the keys whose value is this session's own copy. */
  private readonly owned: Set<string> | undefined

  constructor (readonly data: Data, sharesObjects: boolean) {
    Object.defineProperty(data, kTracker, { value: this })
    this.view = new Proxy(data, traps)
    if (sharesObjects) this.owned = new Set()
  }

  /** A key about to be written or removed: its stored text is the one it has now, unless already known. */
  write (key: string): void {
    if (!this.known.has(key)) this.known.set(key, textOf(this.data, key))
    ;(this.dirty ??= new Set()).add(key)
    this.owned?.add(key)
  }

  /** A key's object value handed to a handler: copied first if the store shares it, then watched. */
  handOut (key: string): unknown {
    if (this.watched?.has(key) !== true) {
      const text = textOf(this.data, key)
      if (this.owned !== undefined && !this.owned.has(key) && key !== 'cookie') {
        // A value JSON cannot write stays as it is (its save fails and is reported).
        if (text !== undefined && text !== UNSERIALIZABLE) this.data[key] = JSON.parse(text)
        this.owned.add(key)
      }
      if (!this.known.has(key)) this.known.set(key, text)
      ;(this.watched ??= new Set()).add(key)
    }
    return this.data[key]
  }

  /** The changes since the store's copy was last known, or undefined when there are none. */
  changes (): Changes | undefined {
    let local: Changes | undefined
    const check = (key: string): void => {
      const text = textOf(this.data, key)
      if (text === this.known.get(key)) return
      local ??= { changed: new Map(), removed: [], invalid: [] }
      if (text === UNSERIALIZABLE) local.invalid.push(key)
      else if (text === undefined) local.removed.push(key)
      else local.changed.set(key, text)
    }
    if (this.dirty !== undefined) for (const key of this.dirty) check(key)
    if (this.watched !== undefined) for (const key of this.watched) if (this.dirty?.has(key) !== true) check(key)
    return local
  }

  /** A save of `local` begins: the keys written so far are on their way (written again meanwhile, they are dirty again). */
  sendStarted (): void {
    this.sending = this.dirty
    this.dirty = undefined
  }

  /** The save landed: what it wrote is the store's copy now. */
  sent (local: Changes): void {
    for (const [key, text] of local.changed) this.known.set(key, text)
    for (const key of local.removed) this.known.set(key, undefined)
    const sending = this.sending
    this.sending = undefined
    if (sending !== undefined) for (const key of sending) this.forgetUnlessTracked(key)
  }

  /** The save failed: its keys are still to be saved. */
  sendFailed (): void {
    if (this.sending !== undefined) for (const key of this.sending) (this.dirty ??= new Set()).add(key)
    this.sending = undefined
  }

  /** Nothing to save: the dirty keys hold their stored values again. */
  clean (): void {
    const dirty = this.dirty
    this.dirty = undefined
    if (dirty !== undefined) for (const key of dirty) this.forgetUnlessTracked(key)
  }

  /** Keys that cannot be saved get their stored value back (none: the key goes); the cookie is @fastify/session's. */
  revert (keys: string[]): void {
    for (const key of keys) {
      if (key === 'cookie') continue
      const before = this.known.get(key)
      if (before === undefined) delete this.data[key]
      else this.data[key] = JSON.parse(before)
      this.dirty?.delete(key)
      this.forgetUnlessTracked(key)
    }
  }

  /**
   * Takes in the store's copy of the session (a read, another writer's save): each key is taken unless this
   * process changed it and has not saved it yet (then the local value wins at the next save). `written` holds
   * what this process just wrote. A watched key whose stored text did not change keeps its object.
   */
  absorb (stored: Data, written?: Map<string, string>): void {
    for (const key of Object.keys(stored)) {
      const mine = written?.get(key)
      if (mine === undefined) this.take(key, stored[key], undefined)
      else if (this.known.has(key)) this.known.set(key, mine)
    }
    for (const key of Object.keys(this.data)) {
      if (key === 'cookie' || Object.hasOwn(stored, key)) continue
      if (this.changedHere(key)) this.known.set(key, undefined)
      else this.drop(key)
    }
  }

  /** Takes in keys another writer merged into the store (`local`, with their texts), as `absorb` does. */
  absorbChanges (local: Changes, source: Data): void {
    for (const [key, text] of local.changed) this.take(key, source[key], text)
    for (const key of local.removed) {
      if (this.changedHere(key)) this.known.set(key, undefined)
      else this.drop(key)
    }
  }

  /** Replaces the data with the store's copy (a reload): local changes are dropped. */
  replaceWith (stored: Data): void {
    this.dirty = undefined
    this.watched = undefined
    this.known.clear()
    this.owned?.clear()
    for (const key of Object.keys(this.data)) if (key !== 'cookie' && !Object.hasOwn(stored, key)) delete this.data[key]
    for (const key of Object.keys(stored)) this.put(key, stored[key])
  }

  /** Empties the data (the session is gone) and stops tracking. */
  clear (): void {
    for (const key of Object.keys(this.data)) if (key !== 'cookie') delete this.data[key]
    this.dirty = undefined
    this.sending = undefined
    this.watched = undefined
    this.known.clear()
  }

  /** Whether this process changed `key` and has not saved it yet (or is saving it). */
  private pending (key: string): boolean {
    return this.dirty?.has(key) === true || this.sending?.has(key) === true
  }

  /** Whether this process changed `key` and has not saved it: written, being saved, or changed in place. */
  private changedHere (key: string): boolean {
    return this.pending(key) || (this.watched?.has(key) === true && textOf(this.data, key) !== this.known.get(key))
  }

  /** A stored value of `key` (its text when known): taken unless changed here; a watched key's object kept when equal. */
  private take (key: string, value: unknown, text: string | undefined): void {
    if (this.changedHere(key)) {
      this.known.set(key, text ?? textOf({ [key]: value }, key))
      return
    }
    // A watched key whose stored text did not change keeps its object (a handler may hold it).
    if (this.watched?.has(key) === true && (text ?? textOf({ [key]: value }, key)) === this.known.get(key)) return
    if (text === undefined || key === 'cookie') this.put(key, value)
    else {
      this.put(key, JSON.parse(text))
      this.owned?.add(key)
    }
  }

  /** A key another writer removed: gone here too. */
  private drop (key: string): void {
    delete this.data[key]
    this.watched?.delete(key)
    this.known.delete(key)
  }

  /** Puts a stored value into the data; the cookie keeps its class and takes the stored expiry. */
  private put (key: string, value: unknown): void {
    const cookie = this.data.cookie as CookieLike | undefined
    if (key === 'cookie') {
      if (cookie === undefined || value === null || typeof value !== 'object') return
      const stored = value as CookieLike
      cookie.expires = stored.expires ? new Date(stored.expires) : null
      cookie.originalMaxAge = stored.originalMaxAge ?? null
      return
    }
    this.data[key] = value
    // A stored object handed out later is copied first (a store that shares its objects), and compared from then on.
    this.owned?.delete(key)
    this.watched?.delete(key)
    if (!this.pending(key)) this.known.delete(key)
  }

  /** Drops what is known of a key that is neither dirty, being sent, nor watched. */
  private forgetUnlessTracked (key: string): void {
    if (!this.pending(key) && this.watched?.has(key) !== true) this.known.delete(key)
  }
}
