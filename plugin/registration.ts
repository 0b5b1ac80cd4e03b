import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Namespace, Server, Socket } from 'socket.io'
import { asyncApiDocument } from './asyncapi/document.js'
import { Lifecycle } from './cluster/lifecycle.js'
import { Peers } from './cluster/peers.js'
import { quietAdapterClose } from './internals/adapter.js'
import { readOwnOrigin } from './internals/fastify-request.js'
import { readSessionInternals } from './internals/fastify-session.js'
import { attachSocketIo, checkSocketIo, dynamicPattern, parentOf } from './internals/socket-io.js'
import { resolveOptions } from './options.js'
import { Buckets } from './routes/rate-limit.js'
import { RouteTable } from './routes/table.js'
import { compileCheck } from './schemas.js'
import { interceptHttp } from './session/http-saves.js'
import type { Context } from './session/live-session.js'
import { LiveSessions } from './session/registry.js'
import { socketSessionClass } from './session/socket-session.js'
import { timedStore } from './session/store.js'
import { onConnection, sessionMiddleware, type ConnectContext } from './socket/connect.js'
import { dispatchHooks } from './socket/dispatch.js'
import { engineOriginCheck } from './socket/engine-origin.js'
import { within } from './thenable.js'

// ---- One registration: every part made once, each given what it needs ----

/**
 * Wires the plugin into one Fastify instance: checks the options and what it reads of @fastify/session, Fastify
 * and Socket.IO (throwing at registration when something is missing), then hooks into HTTP saves, Engine.IO
 * requests, Socket.IO handshakes and events, and Fastify's ready and close.
 */
/** The cookie settings of each Fastify instance the plugin was registered on (for the test client). */
export const cookieSettings = new WeakMap<FastifyInstance, { cookieName: string, cookiePrefix: string }>()

export function createRegistration (fastify: FastifyInstance, input: unknown): void {
  const options = resolveOptions(input)
  const { io, log } = fastify
  checkSocketIo(io as Server | undefined)
  const internals = readSessionInternals(fastify)
  cookieSettings.set(fastify, { cookieName: options.cookieName, cookiePrefix: options.cookiePrefix })
  const ownOrigin = readOwnOrigin(fastify)
  // The plugin's own store calls: timed, and past the HTTP watch below.
  const store = timedStore(internals.store, options.storeTimeout)
  const node = randomUUID()
  const warnStream = (err: unknown): void => { log.warn({ err }, 'fastify-socket.io-session: a command of the stream of messages between nodes failed') }
  const peers = new Peers(io, store.stream, { node, warn: warnStream })
  const registry = new LiveSessions(peers.remote)
  const lifecycle = new Lifecycle(peers, registry, { store, log, options, node }, options)
  const shared: Context = { store, log, options, events: lifecycle, node }
  const c: ConnectContext = {
    options,
    internals,
    store,
    ownOrigin,
    log,
    parseCookie: fastify.parseCookie,
    checkAuth: options.auth && compileCheck('auth', options.auth, false),
    checkQuery: options.query && compileCheck('query', options.query, true),
    registry,
    shared,
    SocketSession: socketSessionClass(internals.Session, internals.hashKey)
  }
  const routes = new RouteTable({ events: options.events, log, buckets: new Buckets() })
  const middleware = sessionMiddleware(c)
  const document = () => asyncApiDocument({
    namespaces: routes.documented(),
    main: io.sockets,
    pattern: dynamicPattern,
    auth: options.auth,
    query: options.query,
    requireSession: options.requireSession,
    cookie: options.cookiePrefix + options.cookieName,
    sessionErrorEvent: options.errorEvent,
    eventErrorEvent: options.events.errorEvent,
    asyncapi: options.asyncapi
  })
  const hooks = dispatchHooks(registry, routes, onConnection(c) as (socket: Socket) => void, document)
  const detach = attachSocketIo(io, hooks, (nsp: Namespace) => {
    routes.adopt(nsp, parentOf(nsp))
    nsp.use(middleware)
  })
  // Every HTTP request of every connection, before Engine.IO handles it.
  io.engine.use(engineOriginCheck({ io, ownOrigin, allowJsonp: options.allowJsonp, log }))
  // HTTP routes write through the registered store: their saves merge, and the lifecycle hears of them.
  const unwatch = interceptHttp(fastify, internals.store, {
    store,
    cookieName: options.cookieName,
    cookiePrefix: options.cookiePrefix,
    signer: internals.signer,
    writes: lifecycle,
    pauses: lifecycle.pauses
  })

  const { path } = options.asyncapi
  if (path !== undefined) fastify.get(path, async () => document())
  fastify.addHook('onReady', async () => lifecycle.start())
  // fastify.close(): save what is queued, then close every client so the HTTP server can stop.
  // A store that does not answer holds close() no longer than one store timeout.
  fastify.addHook('preClose', async () => {
    lifecycle.stop()
    unwatch()
    quietAdapterClose(io)
    await within(registry.flushAll(), options.storeTimeout)
    io.engine.close()
  })
  fastify.addHook('onClose', async () => detach())
}
