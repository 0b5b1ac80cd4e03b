import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Namespace, Server } from 'socket.io'
import { onConnection, sessionMiddleware, type ConnectContext } from './connect.js'
import { wrapNamespace } from './dispatch.js'
import { engineOriginCheck } from './engine-origin.js'
import { FST_SIO_SESSION_NO_SOCKETIO } from './errors.js'
import { Lifecycle } from './lifecycle.js'
import type { Context } from './live-sessions.js'
import { kMergeSave, type MergeSave } from './redis-store.js'
import { LiveSessions } from './registry.js'
import { resolveOptions, type SocketSessionOptions } from './options.js'
import { readOwnOrigin } from './own-origin.js'
import { event, inheritRoutes, kRouting, type RoutedNamespace, type RoutedServer } from './routes.js'
import { compileCheck } from './schemas.js'
import { readSessionInternals } from './session-internals.js'
import { socketSessionClass } from './socket-session.js'
import { watchStore } from './store.js'
import './types.js'

// ---- Wiring ----

/** Gives every Socket.IO connection the Fastify session of its browser, saved when a listener changes it. */
async function fastifySocketIoSession (fastify: FastifyInstance, opts: SocketSessionOptions): Promise<void> {
  const options = resolveOptions(opts)
  const io = fastify.io as Server | undefined
  if (typeof io?.use !== 'function' || typeof io.engine?.close !== 'function' || typeof io.engine.use !== 'function') {
    throw new FST_SIO_SESSION_NO_SOCKETIO(io === undefined ? 'is missing' : 'is not a Socket.IO server')
  }
  const internals = readSessionInternals(fastify)
  const ownOrigin = readOwnOrigin(fastify)
  const live = new LiveSessions()
  const store = internals.store as typeof internals.store & { [kMergeSave]?: MergeSave }
  const shared: Context = {
    store,
    merge: store[kMergeSave],
    log: fastify.log,
    autoSave: options.autoSave,
    errorEvent: options.errorEvent,
    rolling: options.rolling,
    touchAfter: options.touchAfter,
    registry: live,
    // Set by the lifecycle, which needs this context itself.
    events: undefined as unknown as Context['events']
  }
  const lifecycle = new Lifecycle(io, live, shared, options)
  // HTTP routes write through the registered store: the lifecycle hears of it; the plugin writes past it.
  const watched = watchStore(store, (id, session) => lifecycle.written(id, session), (id) => lifecycle.removed(id))
  shared.store = watched.raw
  const c: ConnectContext = {
    options,
    internals: { ...internals, store: watched.raw },
    ownOrigin,
    log: fastify.log,
    parseCookie: fastify.parseCookie,
    checkAuth: options.auth && compileCheck('auth', options.auth, false),
    checkQuery: options.query && compileCheck('query', options.query, true),
    live,
    shared,
    SocketSession: socketSessionClass(internals.Session, internals.hashKey)
  }
  const middleware = sessionMiddleware(c)
  // Every HTTP request of every connection, before Engine.IO handles it.
  io.engine.use(engineOriginCheck({ io, ownOrigin, allowJsonp: options.allowJsonp, log: fastify.log }))
  const connection = onConnection(c)

  // Event routes: `io.event()` for the main namespace, `io.of(name).event()` for any other (dynamic ones too).
  ;(io as unknown as RoutedServer)[kRouting] = { events: options.events, log: fastify.log }
  ;(Object.getPrototypeOf(io.sockets) as { event: typeof event }).event = event
  io.event = function (this: Server, ...args: unknown[]) {
    return (this.sockets.event as (...a: unknown[]) => unknown)(...args)
  } as Server['event']

  const install = (nsp: Namespace): void => {
    inheritRoutes(nsp as RoutedNamespace)
    nsp.use(middleware)
    wrapNamespace(nsp)
    ;(Object.getPrototypeOf(nsp) as Namespace).prependListener.call(nsp, 'connection', connection)
  }
  for (const nsp of io._nsps.values()) install(nsp)
  io.on('new_namespace', install)

  fastify.addHook('onReady', async () => lifecycle.start())
  // fastify.close(): save what is queued, then close every client so the HTTP server can stop.
  fastify.addHook('preClose', async () => {
    lifecycle.stop()
    watched.unwatch()
    await live.flushAll()
    io.engine.close()
  })
}

/** The plugin, with its Fastify metadata. */
const plugin = fp(fastifySocketIoSession, {
  fastify: '5.x',
  name: 'fastify-socket.io-session',
  dependencies: ['@fastify/cookie', '@fastify/session']
})

export default plugin
export { plugin as fastifySocketIoSession }
export { RedisStore, type RedisClient, type RedisStoreOptions } from './redis-store.js'
export { ClientCodes, type ClientCode, type RefusalData, type ValidationIssue } from './errors.js'
export type { OriginCheck, SocketSessionOptions } from './options.js'
export type { HandshakeData, SessionErrorPayload } from './types.js'
export { EventError, EventErrorCodes, type EventErrorBody, type EventErrorCode, type EventErrorMessage, type EventErrorReply } from './event-error.js'
export type { EventsOptions } from './event-options.js'
export type { RateLimit } from './rate-limit.js'
export type { ClientEvents, EventHandler, EventRoute, EventRouteOptions, OnErrorHook, PreHandlerHook, RouteAck } from './route-types.js'
