import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_STORE } from './errors.js'

// ---- Promise face of a callback session store ----

/** A stored session: plain data, or the object a memory store kept. */
export type Stored = Record<string, unknown>

function failure (err: unknown): Error {
  return new FST_SIO_SESSION_STORE((err as Error)?.message ?? String(err), { cause: err })
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
