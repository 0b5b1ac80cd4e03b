import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_STORE } from './errors.js'

// ---- Promise face of a callback session store ----

/** A stored session: plain data, or the object a memory store kept. */
export type Stored = Record<string, unknown>

/** A store's error, as the plugin reports it. */
export function failure (err: unknown): Error {
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

/** Runs one store call; a store that throws instead of calling back fails the same way. */
function call<T> (run: (done: (err?: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    try {
      run((err, value) => { err ? reject(failure(err)) : resolve(value) })
    } catch (err) {
      reject(failure(err))
    }
  })
}

/** Reads a session; `undefined` when the store has none (an `ENOENT` error counts as none, as in @fastify/session). */
export async function load (store: SessionStore, id: string): Promise<Stored | undefined> {
  try {
    const value = await call<Stored | null>((done) => store.get(id, done as never))
    return value ?? undefined
  } catch (err) {
    if (((err as Error).cause as { code?: string } | undefined)?.code === 'ENOENT') return undefined
    throw err
  }
}

/** Writes a session. */
export async function write (store: SessionStore, id: string, data: Stored): Promise<void> {
  await call((done) => store.set(id, data as never, done))
}

/** Removes a session. */
export async function remove (store: SessionStore, id: string): Promise<void> {
  await call((done) => store.destroy(id, done))
}

// ---- Seeing the writes that do not come from sockets ----

type Done = (err?: unknown) => void

/** The store as the plugin calls it, and how to stop watching the original. */
export interface Watched { raw: SessionStore, unwatch: () => void }

/**
 * Makes the registered store tell the plugin about every successful `set` and `destroy` that others make
 * (@fastify/session's HTTP saves, logout, regenerate), before their callback runs. The plugin itself
 * calls the returned `raw` store, which says nothing.
 */
export function watchStore (store: SessionStore, written: (id: string, session: object) => void, removed: (id: string) => void): Watched {
  const set = store.set
  const destroy = store.destroy
  const raw: SessionStore = {
    get: (id, done) => store.get(id, done),
    set: (id, session, done) => set.call(store, id, session, done),
    destroy: (id, done) => destroy.call(store, id, done)
  }
  const watchedSet = function (this: SessionStore, id: string, session: object, done: Done): void {
    set.call(this, id, session as never, (err?: unknown) => {
      if (!err) written(id, session)
      done(err)
    })
  }
  const watchedDestroy = function (this: SessionStore, id: string, done: Done): void {
    destroy.call(this, id, (err?: unknown) => {
      if (!err) removed(id)
      done(err)
    })
  }
  store.set = watchedSet as SessionStore['set']
  store.destroy = watchedDestroy as SessionStore['destroy']
  return {
    raw,
    unwatch: () => {
      if (store.set === watchedSet) store.set = set
      if (store.destroy === watchedDestroy) store.destroy = destroy
    }
  }
}
