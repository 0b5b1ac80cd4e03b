import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_GONE, keyNames, unserializable } from '../errors.js'
import { changes, cookieText, mergeOver, snapshot, storedTexts, written, type Changes, type Snapshot } from './merge.js'
import type { Signer } from '../internals/fastify-session.js'
import { LEASE_MS } from './lease.js'
import type { Store } from './store.js'

// ---- HTTP saves merge too: a request writes only the keys it changed, and the cookie's expiry ----

type Done = (err?: unknown) => void
type Data = Record<string, unknown>

/** What the plugin does with what HTTP routes write: take it into the live sessions, tell the other nodes. */
export interface HttpWrites {
  /** A whole session was written (a new session, or one this request did not load). */
  written: (id: string, session: object) => void
  /** Changes were merged into a stored session. */
  merged: (id: string, local: Changes, session: Data) => void
  /** A session was destroyed (logout, regenerate). */
  removed: (id: string) => void
}

/** Holds the socket events of session `id` while a request has it (see cluster/pauses.ts). */
export interface SocketPauses {
  /** Resolves once they stopped, with what lets them go on; undefined when no socket holds the session. */
  hold: (id: string) => Promise<(() => void) | undefined>
}

/** What the HTTP side needs, fixed at registration. */
export interface HttpContext {
  store: Store
  cookieName: string
  cookiePrefix: string
  signer: Signer
  writes: HttpWrites
  pauses: SocketPauses
  /** Each request's session as it was loaded from the store (kept while the session object lives). */
  loaded: WeakMap<object, Snapshot>
}

/** Whether the request's session was loaded from the store: its id is the one its cookie names. */
function fromStore (c: HttpContext, request: FastifyRequest): boolean {
  const session = request.session as { sessionId?: unknown, encryptedSessionId?: unknown } | null
  const cookie = request.cookies?.[c.cookieName]
  if (typeof session?.sessionId !== 'string' || typeof cookie !== 'string' || !cookie.startsWith(c.cookiePrefix)) return false
  const signed = cookie.slice(c.cookiePrefix.length)
  // A new session gets a new id; a cookie signed with an older secret is checked again.
  return session.encryptedSessionId === signed || c.signer.unsign(signed).value === session.sessionId
}

/** The local changes of an HTTP save, with the cookie always in them (its expiry moves on every request, as @fastify/session's `rolling` does). */
function httpChanges (session: Data, base: Snapshot): Changes {
  const local = changes(session, base) ?? { changed: new Map(), removed: [], invalid: [] }
  if (local.invalid.length > 0) throw unserializable(keyNames(local.invalid))
  local.changed.set('cookie', cookieText(session.cookie as object))
  return local
}

/** Saves an HTTP request's session: merged over what is stored when the request loaded it, whole otherwise. */
async function save (c: HttpContext, id: string, session: Data): Promise<void> {
  const base = c.loaded.get(session)
  const whole = async (): Promise<void> => {
    await c.store.set(id, session)
    c.writes.written(id, session)
  }
  if (base === undefined) return await (c.store.merge ? whole() : c.store.exclusive(id, whole))
  const local = httpChanges(session, base)
  if (c.store.merge !== undefined) {
    const result = await c.store.merge(id, storedTexts(local, session), local.removed, session.cookie as object)
    if (result === 'gone') throw new FST_SIO_SESSION_GONE()
    // Gone from the store without a trace (evicted, expired meanwhile): written whole, as @fastify/session would.
    if (result === 'absent') return await whole()
  } else {
    const stored = await c.store.exclusive(id, async () => {
      const stored = await c.store.get(id)
      // Gone from the store without a trace: written whole, as above.
      await c.store.set(id, stored === undefined ? session : mergeOver(stored, session, local))
      return stored
    })
    if (stored === undefined) return c.writes.written(id, session)
  }
  // A second save of the same request writes only what changed after this one.
  written(base, local)
  c.writes.merged(id, local, session)
}

/** Methods that do not change state (RFC 9110): their requests do not hold the sockets unless their route says so. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Keys a session read again keeps as they are: its cookie, the names @fastify/session keeps, and one no object can have. */
const kept = new Set(['cookie', 'sessionId', 'encryptedSessionId', '__proto__'])

/**
 * A request whose session sockets hold (here or on other nodes): their events wait until its response is sent
 * (10 s at most), and the request reads the session again once they stopped, so that it sees what they wrote and
 * they see what it writes. Runs before the handler, after the body was read; not for GET, HEAD and OPTIONS
 * requests unless their route's `config.holdSockets` says so (nor for routes whose config says false).
 */
async function holdSockets (c: HttpContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const session = request.session as unknown as Data & { sessionId: string }
  if (!c.loaded.has(session) || !(request.routeOptions.config.holdSockets ?? !SAFE.has(request.method))) return
  const id = session.sessionId
  const release = await c.pauses.hold(id)
  if (release === undefined) return
  const done = (): void => {
    clearTimeout(timer)
    release()
  }
  const timer = setTimeout(done, LEASE_MS)
  timer.unref()
  // A client that left while the request waited: the events go on at once.
  if (reply.raw.closed) done()
  else reply.raw.once('close', done)
  const stored = await c.store.get(id)
  // Gone meanwhile: the request goes on with what it read (its save finds the session gone).
  if (stored === undefined) return
  // A store that shares its objects (the memory store) is copied from; the Redis store's are fresh already.
  const fresh = (c.store.merge === undefined ? JSON.parse(JSON.stringify(stored)) : stored) as Data
  for (const key of Object.keys(session)) if (!kept.has(key) && !Object.hasOwn(fresh, key)) delete session[key]
  for (const key of Object.keys(fresh)) if (!kept.has(key)) session[key] = fresh[key]
  c.loaded.set(session, snapshot(session))
}

/**
 * Makes the registered store's `set` merge (for sessions a request loaded) and tells the plugin about every
 * HTTP write and destroy; a snapshot of each loaded session is taken after @fastify/session loaded it.
 * Returns how to stop.
 */
export function interceptHttp (fastify: FastifyInstance, store: SessionStore, options: Omit<HttpContext, 'loaded'>): () => void {
  const c: HttpContext = { ...options, loaded: new WeakMap() }
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (fromStore(c, request)) c.loaded.set(request.session, snapshot(request.session as unknown as Data))
    done()
  })
  fastify.addHook('preHandler', async (request, reply) => { await holdSockets(c, request, reply) })
  const { set, destroy } = store
  const mergingSet = function (id: string, session: object, done: Done): void {
    save(c, id, session as Data).then(() => done(), done)
  }
  const watchedDestroy = function (id: string, done: Done): void {
    c.store.destroy(id).then(() => {
      c.writes.removed(id)
      done()
    }, done)
  }
  store.set = mergingSet as SessionStore['set']
  store.destroy = watchedDestroy as SessionStore['destroy']
  return () => {
    if (store.set === mergingSet) store.set = set
    if (store.destroy === watchedDestroy) store.destroy = destroy
  }
}
