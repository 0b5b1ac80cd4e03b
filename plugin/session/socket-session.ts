import type { FastifySessionObject } from '@fastify/session'
import { FST_SIO_SESSION_REGENERATE } from '../errors.js'
import type { LiveSession } from './live-session.js'
import type { SessionClass } from '../internals/fastify-session.js'

// ---- The session object a socket sees ----

/** Where a socket session finds its live session. */
export const kLive = Symbol('fastify-socket.io-session.live')

type Callback = (err?: unknown) => void

/** Resolves or calls back, as @fastify/session's methods do. */
function settle (promise: Promise<void>, callback: Callback | undefined): Promise<void> | undefined {
  if (callback === undefined) return promise
  promise.then(() => callback(), callback)
  return undefined
}

/** A socket session: made from a live session's data, with the methods of `request.session`. */
export type SocketSessionClass = new (...args: ConstructorParameters<SessionClass>) => FastifySessionObject & { [kLive]: LiveSession }

/**
 * @fastify/session's own Session class with the store-touching methods routed through the live session:
 * `save` merges and queues, `reload` updates in place, `destroy` stops all later writes.
 */
export function socketSessionClass (Session: SessionClass, hashKey: symbol): SocketSessionClass {
  const Base = Session as unknown as new (...args: ConstructorParameters<SessionClass>) => object
  class SocketSession extends Base {
    declare [kLive]: LiveSession

    /** Saves what this process changed, after any save in progress; rejects with the store's error. */
    save (callback?: Callback): Promise<void> | undefined {
      const flushed = this[kLive].flush()
      return settle((async () => {
        const err = await flushed
        if (err) throw err
      })(), callback)
    }

    /** Replaces the data with the store's copy. */
    reload (callback?: Callback): Promise<void> | undefined {
      return settle(this[kLive].reload(), callback)
    }

    /** Deletes the session from the store. */
    destroy (callback?: Callback): Promise<void> | undefined {
      return settle(this[kLive].destroy(), callback)
    }

    /** Not possible over a socket: only an HTTP response can give the browser the new cookie. */
    regenerate (keys?: string[] | Callback, callback?: Callback): Promise<void> | undefined {
      return settle(Promise.reject(new FST_SIO_SESSION_REGENERATE()), typeof keys === 'function' ? keys : callback)
    }

    /** Whether the data differs from what the store was last known to hold. */
    isModified (): boolean {
      return this[kLive].changed()
    }
  }
  // @fastify/session hashes the whole session (stringify + SHA-256) in its constructor and save, for its own
  // isModified; a socket session answers isModified from its live session, so that work is skipped.
  Object.defineProperty(SocketSession.prototype, hashKey, { value: () => '' })
  return SocketSession as unknown as SocketSessionClass
}
