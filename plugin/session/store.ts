import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_STORE, FST_SIO_SESSION_TIMEOUT } from '../errors.js'
import { kShared, type SharedSessions } from './lease.js'

// ---- The session store as the plugin calls it: promises, each call bounded by a timeout ----

/** A stored session: plain data, or the object a memory store kept. */
export type Stored = Record<string, unknown>

/** What a merge-save found: the changes written, the session destroyed (a tombstone), or no session at all. */
export type MergeResult = 'saved' | 'gone' | 'absent'

/**
 * A store's own atomic merge-save: writes `changed` (key → JSON text), removes `removed`, and, when the cookie
 * changed, sets the lifetime from `cookie`. It never creates a session.
 */
export type MergeSave = (id: string, changed: Map<string, string>, removed: string[], cookie: { expires?: unknown } | undefined) => Promise<MergeResult>

/** Where the plugin finds a store's merge-save (a store that has one returns a new object on every read). */
export const kMergeSave = Symbol.for('fastify-socket.io-session.merge-save')

/** Where the plugin finds a store's read for its own use, when it differs from `get` (which may do more). */
export const kRead = Symbol.for('fastify-socket.io-session.read')

/** A store's error, as the plugin reports it; a session that is gone stays that error. */
export function failure (err: unknown): Error {
  if ((err as { code?: unknown })?.code === 'FST_SIO_SESSION_GONE') return err as Error
  return new FST_SIO_SESSION_STORE((err as Error)?.message ?? String(err), { cause: err })
}

/** When a session cookie (a Cookie, or its stored JSON) expires, in ms since the epoch; undefined when it does not. */
export function expiryOf (cookie: unknown): number | undefined {
  const expires = (cookie as { expires?: unknown } | undefined)?.expires
  if (expires == null) return undefined
  const at = expires instanceof Date ? expires.getTime() : Date.parse(String(expires))
  return Number.isNaN(at) ? undefined : at
}

/** Whether a session cookie has expired by `now`. */
export function cookieExpired (cookie: unknown, now = Date.now()): boolean {
  return (expiryOf(cookie) ?? Infinity) <= now
}

/**
 * Whether a stored session's cookie has expired: the check @fastify/session makes on load, where the stored
 * `expires` becomes the cookie's `originalExpires` (a stored `originalExpires` is one save behind).
 */
export function expired (stored: Stored): boolean {
  return cookieExpired(stored.cookie)
}

// ---- A store that carries the nodes' messages (the Redis store; see redis/stream.ts) ----

/** Where a store that can carry the plugin's messages says how (the Redis store). */
export const kStream = Symbol.for('fastify-socket.io-session.stream')

/** One entry as XREAD and XRANGE answer it: its id, and its fields and values. */
export type StreamEntry = [string, string[]]

/** The part of an ioredis client (or `Cluster`) the stream uses; a node-redis client is wrapped to look like one (redis/stream.ts). */
export interface StreamClient {
  xadd: (key: string, ...args: Array<string | number>) => Promise<string | null>
  xread: (...args: Array<string | number>) => Promise<Array<[string, StreamEntry[]]> | null>
  xrange: (key: string, start: string, end: string) => Promise<StreamEntry[]>
  /** A connection of its own for the blocking reads. */
  duplicate: () => StreamClient
  disconnect: () => void
  on: (event: 'ready' | 'error', listener: () => void) => unknown
}

/** What the store hands the plugin: the client, and the stream's key. */
export interface StreamLink { client: StreamClient, key: string }

// ---- The store as the plugin calls it ----

/** The session store, as every part of the plugin calls it. */
export interface Store {
  /** Reads a session; undefined when there is none (an `ENOENT` error counts as none, as in @fastify/session). */
  get: (id: string) => Promise<Stored | undefined>
  /** Writes a whole session. */
  set: (id: string, data: object) => Promise<void>
  /** Removes a session. */
  destroy: (id: string) => Promise<void>
  /** The store's atomic merge-save, when it has one (the Redis store). */
  merge: MergeSave | undefined
  /** The store's commands for sessions live on several nodes, when it has them (the Redis store). */
  shared: SharedSessions | undefined
  /** Where the nodes' messages go, when the store can carry them (the Redis store, unless its `stream` is false). */
  stream: StreamLink | undefined
  /** Runs a read-merge-write of session `id` after the ones before it (for stores without a merge-save). */
  exclusive: <T>(id: string, run: () => Promise<T>) => Promise<T>
}

/**
 * Runs one store call; it fails after `timeout` ms, or when the store throws instead of calling back. A store that
 * calls back at once (a memory store) gets no timer.
 */
function call<T> (timeout: number, run: (done: (err?: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    let settled = false
    const done = (err?: unknown, value?: T): void => {
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      if (err) reject(failure(err))
      else resolve(value)
    }
    try {
      run(done)
    } catch (err) {
      if (!settled) reject(failure(err))
      return
    }
    if (settled) return
    timer = setTimeout(() => reject(failure(new FST_SIO_SESSION_TIMEOUT(timeout))), timeout)
    timer.unref()
  })
}

/**
 * Calls `store` with a timeout on every call, and serializes read-merge-writes. Made before the plugin watches
 * the store's `set` and `destroy`: the plugin's own calls go to the store's methods.
 */
export function timedStore (store: SessionStore, timeout: number): Store {
  const { set, destroy } = store
  const get = (store as { [kRead]?: SessionStore['get'] })[kRead] ?? store.get
  const merge = (store as { [kMergeSave]?: MergeSave })[kMergeSave]
  const queues = new Map<string, Promise<unknown>>()
  const exclusive: Store['exclusive'] = async (id, run) => {
    const before = queues.get(id)
    const result = before === undefined ? run() : before.then(run, run)
    const after = result.catch(() => undefined)
    queues.set(id, after)
    void after.then(() => { if (queues.get(id) === after) queues.delete(id) })
    return await result
  }
  const remove = async (id: string): Promise<void> => { await call(timeout, (done) => destroy.call(store, id, done)) }
  return {
    get: async (id) => {
      try {
        const value = await call<Stored | null>(timeout, (done) => get.call(store, id, done as never))
        return value ?? undefined
      } catch (err) {
        if (((err as Error).cause as { code?: string } | undefined)?.code === 'ENOENT') return undefined
        throw err
      }
    },
    set: async (id, data) => { await call(timeout, (done) => set.call(store, id, data as never, done)) },
    // Without a merge-save (and its tombstone), a read-merge-write of the session in flight here ends first: it would write the session back.
    destroy: merge === undefined ? async (id) => { await exclusive(id, async () => { await remove(id) }) } : remove,
    shared: (store as { [kShared]?: SharedSessions })[kShared],
    stream: (store as { [kStream]?: StreamLink })[kStream],
    merge: merge && (async (...args) => await call<MergeResult>(timeout, (done) => { merge.apply(store, args).then((result) => done(undefined, result), done) }) as MergeResult),
    exclusive
  }
}
