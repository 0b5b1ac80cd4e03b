import type { FastifyInstance } from 'fastify'
import type { ManagerOptions, Socket as ClientSocket, SocketOptions } from 'socket.io-client'
import type { DefaultEventsMap } from 'socket.io'
import { FST_SIO_SESSION_NOT_REGISTERED } from './errors.js'
import { readSessionInternals } from './internals/fastify-session.js'
import { cookieSettings } from './registration.js'
import type { EventsMap } from './types.js'

// ---- The inject() of sockets: a connected socket.io-client socket with a session made by the app itself ----

/** What `sessionClient` makes. */
export interface SessionClientOptions {
  /** Keys of a new session, stored through the app's own store (and signed with its secret); none: no cookie. */
  session?: Record<string, unknown>
  /** The namespace to connect to. @default '/' */
  namespace?: string
  /** The handshake's `auth`. */
  auth?: Record<string, unknown>
  /** The handshake's query. */
  query?: Record<string, string>
  /** @default 'websocket' */
  transport?: 'websocket' | 'polling'
  /** More socket.io-client options (they win over the ones above). */
  client?: Partial<ManagerOptions & SocketOptions>
}

/** A connected client, the Cookie header of its session (for `app.inject()`), and the session's id. */
export interface SessionClient<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents> {
  socket: ClientSocket<ListenEvents, EmitEvents>
  /** `sessionId=...`, or undefined without a session. */
  cookie: string | undefined
  /** The stored session's id, or undefined without a session. */
  sessionId: string | undefined
}

/** Stores a new session holding `data` through the app's own @fastify/session; resolves to its Cookie header and id. */
async function newSession (app: FastifyInstance, data: Record<string, unknown>, cookieName: string, cookiePrefix: string): Promise<{ cookie: string, sessionId: string }> {
  const { Session, store, idGenerator, cookieOpts, signer } = readSessionInternals(app)
  const session = new Session(store, { protocol: 'http' }, idGenerator, cookieOpts, signer) as Record<string, unknown> & {
    set: (key: string, value: unknown) => void
    save: () => Promise<void>
    sessionId: string
    encryptedSessionId: string
  }
  for (const [key, value] of Object.entries(data)) session.set(key, value)
  await session.save()
  return { cookie: `${cookieName}=${encodeURIComponent(cookiePrefix + session.encryptedSessionId)}`, sessionId: session.sessionId }
}

/**
 * Connects a socket.io-client socket to `app` (listening on 127.0.0.1 first when it is not listening yet), with a
 * session holding `options.session` when given: made through the app's own store and signer, so its cookie is a
 * real one. Resolves once connected; rejects with the `connect_error` (its `data` holds the refusal's code).
 * The socket does not reconnect by itself; disconnect it when done (the app's close() ends it too).
 */
export async function sessionClient<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents> (
  app: FastifyInstance,
  options: SessionClientOptions = {}
): Promise<SessionClient<ListenEvents, EmitEvents>> {
  const settings = cookieSettings.get(app)
  if (settings === undefined) throw new FST_SIO_SESSION_NOT_REGISTERED()
  const made = options.session === undefined ? undefined : await newSession(app, options.session, settings.cookieName, settings.cookiePrefix)
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const scheme = app.initialConfig.https ? 'https' : 'http'
  // socket.io-client is an optional peer dependency: only this entry point needs it.
  const { io } = await import('socket.io-client')
  const socket = io(`${scheme}://127.0.0.1:${port}${options.namespace ?? '/'}`, {
    transports: [options.transport ?? 'websocket'],
    reconnection: false,
    forceNew: true,
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.query === undefined ? {} : { query: options.query }),
    ...(made === undefined ? {} : { extraHeaders: { cookie: made.cookie } }),
    ...options.client
  }) as ClientSocket<ListenEvents, EmitEvents>
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', (err) => {
      socket.disconnect()
      reject(err)
    })
  })
  return { socket, cookie: made?.cookie, sessionId: made?.sessionId }
}
