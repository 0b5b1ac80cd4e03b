import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Namespace, Server } from 'socket.io'
import { kSession, wrapNamespace, type SessionSocket } from './autosave.js'
import { onConnection, sessionMiddleware, type ConnectContext } from './connect.js'
import { FST_SIO_SESSION_NO_SOCKETIO } from './errors.js'
import { LiveSessions, type LiveSession } from './live-sessions.js'
import { resolveOptions, type SocketSessionOptions } from './options.js'
import { compileCheck } from './schemas.js'
import { readSessionInternals } from './session-internals.js'
import { socketSessionClass } from './socket-session.js'
import './types.js'

// ---- Wiring ----

/** Gives every Socket.IO connection the Fastify session of its browser, saved when a listener changes it. */
async function fastifySocketIoSession (fastify: FastifyInstance, opts: SocketSessionOptions): Promise<void> {
  const options = resolveOptions(opts)
  const io = fastify.io as Server | undefined
  if (typeof io?.use !== 'function' || typeof io.engine?.close !== 'function') {
    throw new FST_SIO_SESSION_NO_SOCKETIO(io === undefined ? 'is missing' : 'is not a Socket.IO server')
  }
  const internals = readSessionInternals(fastify)
  const live = new LiveSessions()
  const c: ConnectContext = {
    options,
    internals,
    log: fastify.log,
    parseCookie: fastify.parseCookie,
    checkAuth: options.auth && compileCheck('auth', options.auth, false),
    checkQuery: options.query && compileCheck('query', options.query, true),
    live,
    shared: { store: internals.store, log: fastify.log, autoSave: options.autoSave, errorEvent: options.errorEvent },
    SocketSession: socketSessionClass(internals.Session),
    release: function (this: SessionSocket) { live.release(this[kSession] as LiveSession) }
  }
  const middleware = sessionMiddleware(c)
  const connection = onConnection(c)

  const install = (nsp: Namespace): void => {
    nsp.use(middleware)
    wrapNamespace(nsp)
    ;(Object.getPrototypeOf(nsp) as Namespace).prependListener.call(nsp, 'connection', connection)
  }
  for (const nsp of io._nsps.values()) install(nsp)
  io.on('new_namespace', install)

  // fastify.close(): save what is queued, then close every client so the HTTP server can stop.
  fastify.addHook('preClose', async () => {
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
export { ClientCodes, type ClientCode, type RefusalData, type ValidationIssue } from './errors.js'
export type { OriginCheck, SocketSessionOptions } from './options.js'
export type { HandshakeData, SessionErrorPayload } from './types.js'
