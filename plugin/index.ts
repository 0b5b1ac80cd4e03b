import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Namespace, Server } from 'socket.io'
import { quietAdapterClose } from './internals/adapter.js'
import { onConnection, sessionMiddleware, type ConnectContext } from './socket/connect.js'
import { wrapNamespace } from './socket/dispatch.js'
import { engineOriginCheck } from './socket/engine-origin.js'
import { FST_SIO_SESSION_NO_SOCKETIO } from './errors.js'
import { interceptHttp } from './session/http-saves.js'
import { Lifecycle } from './cluster/lifecycle.js'
import type { Context } from './session/live-session.js'
import { Buckets } from './routes/rate-limit.js'
import { LiveSessions } from './session/registry.js'
import { resolveOptions, type SocketSessionOptions } from './options/plugin.js'
import { readOwnOrigin } from './internals/fastify-request.js'
import { event, inheritRoutes, kRouting, type RoutedNamespace, type RoutedServer } from './routes/table.js'
import { compileCheck } from './schemas.js'
import { readSessionInternals } from './internals/fastify-session.js'
import { socketSessionClass } from './session/socket-session.js'
import { timedStore } from './session/store.js'
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
  // The plugin's own calls: timed, and past the watch below.
  const store = timedStore(internals.store, options.storeTimeout)
  const shared: Context = {
    store,
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
  // HTTP routes write through the registered store: their saves merge, and the lifecycle hears of them.
  const unwatch = interceptHttp(fastify, internals.store, {
    store,
    cookieName: options.cookieName,
    cookiePrefix: options.cookiePrefix,
    signer: internals.signer,
    writes: lifecycle
  })
  const c: ConnectContext = {
    options,
    internals,
    store,
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
  ;(io as unknown as RoutedServer)[kRouting] = { events: options.events, log: fastify.log, buckets: new Buckets() }
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
  // A store that does not answer holds close() no longer than one store timeout.
  fastify.addHook('preClose', async () => {
    lifecycle.stop()
    unwatch()
    quietAdapterClose(io)
    await within(live.flushAll(), options.storeTimeout)
    io.engine.close()
  })
}

/** Waits for `promise`, at most `ms`. */
async function within (promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([promise, new Promise((resolve) => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}

/** The plugin, with its Fastify metadata. */
const plugin = fp(fastifySocketIoSession, {
  fastify: '5.x',
  name: 'fastify-socket.io-session',
  dependencies: ['@fastify/cookie', '@fastify/session']
})

export default plugin
export { plugin as fastifySocketIoSession }
export { RedisStore, type RedisClient, type RedisStoreOptions } from './redis/store.js'
export type { OriginCheck, SocketSessionOptions } from './options/plugin.js'
export type { HandshakeData } from './types.js'
export {
  ClientCodes, EventError, EventErrorCodes, type ClientCode, type ClientErrorBody, type ClientErrorReply, type EventErrorBody, type EventErrorCode,
  type EventErrorMessage, type EventErrorReply, type RefusalData, type SessionErrorPayload, type ValidationIssue
} from './client-errors.js'
export type { EventsOptions, KeyGenerator } from './options/events.js'
export type { RateLimit } from './routes/rate-limit.js'
export type { ClientEvents, EventHandler, EventRoute, EventRouteOptions, OnErrorHook, PreHandlerHook, RouteAck } from './routes/types.js'
