import { mock } from 'node:test'
import { performance } from 'node:perf_hooks'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import cookie from '@fastify/cookie'
import session, { type FastifySessionOptions } from '@fastify/session'
import socketio from 'fastify-socket.io'
import { io as connectClient, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import { Server, type ServerOptions } from 'socket.io'
import fastifyRedis from '@fastify/redis'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import socketSession, { RedisStore, type ClientErrorBody, type ClientErrorReply, type EventErrorMessage, type RedisStoreOptions, type SessionErrorPayload, type SocketSessionOptions } from '../plugin/index.js'

// ---- Test apps on 127.0.0.1, port 0, with real clients ----

export const SECRET = 'a secret with minimum length of 32 characters'

/** Options for one test app. */
export interface AppOptions {
  plugin?: SocketSessionOptions
  session?: Partial<FastifySessionOptions>
  io?: Partial<ServerOptions>
  fastify?: FastifyServerOptions
  /** Runs after fastify-socket.io is registered, before this plugin. */
  beforePlugin?: (app: FastifyInstance) => void
  /** Runs after the plugin is registered, before listen. */
  setup?: (app: FastifyInstance) => void | Promise<void>
  /** A Redis URL: sessions in the RedisStore on @fastify/redis, and Socket.IO on the Redis adapter. */
  redis?: string
  /** Options of the RedisStore (besides the client). */
  redisStore?: Partial<RedisStoreOptions>
  /**
   * Where `fastify.io` comes from: fastify-socket.io 4, or a Socket.IO server the app makes itself (README:
   * "Bring your own Socket.IO server"). Default: TEST_SOCKET_SERVER, else fastify-socket.io.
   */
  socketServer?: 'fastify-socket.io' | 'own'
}

/** A running app, its address, and how to get a session cookie and connect clients. */
export interface TestApp {
  app: FastifyInstance
  url: string
  cookieName: string
  /** Logs in over HTTP (sets `user`, and any extra keys); returns the Cookie header value. */
  login: (data?: Record<string, unknown>) => Promise<string>
  /** Runs an HTTP request with a cookie; returns the JSON body. */
  http: (method: 'GET' | 'POST', path: string, cookie?: string, body?: unknown) => Promise<Record<string, unknown>>
  /** A client; not connected until `connect()` or `connected()`. */
  client: (options?: Partial<ManagerOptions & SocketOptions>, namespace?: string) => ClientSocket
  /** A connected client, or the `connect_error` it got. */
  connected: (options?: Partial<ManagerOptions & SocketOptions>, namespace?: string) => Promise<ClientSocket>
  close: () => Promise<void>
}

/** Builds, starts and returns an app; closes it (and its clients) at teardown. */
export async function startApp (t: { teardown: (fn: () => unknown) => void }, options: AppOptions = {}): Promise<TestApp> {
  const app = Fastify({ logger: false, ...options.fastify })
  await app.register(cookie)
  const cookieName = options.session?.cookieName ?? 'sessionId'
  const extra: { store?: RedisStore, adapter?: ReturnType<typeof createAdapter> } = {}
  const redisClients: Redis[] = []
  if (options.redis !== undefined) {
    await app.register(fastifyRedis.default, { url: options.redis, maxRetriesPerRequest: 1 })
    app.redis.on('error', () => {})
    extra.store = new RedisStore({ client: app.redis, ...options.redisStore })
    // The adapter's clients keep ioredis's defaults: commands sent during an outage wait for Redis to return.
    const pub = new Redis(options.redis)
    const sub = pub.duplicate()
    for (const client of [pub, sub]) client.on('error', () => {})
    redisClients.push(pub, sub)
    extra.adapter = createAdapter(pub, sub)
  }
  await app.register(session, { secret: SECRET, cookie: { secure: false }, ...(extra.store ? { store: extra.store } : {}), ...options.session } as FastifySessionOptions)
  const ioOptions = { ...(extra.adapter ? { adapter: extra.adapter } : {}), ...options.io }
  if ((options.socketServer ?? process.env.TEST_SOCKET_SERVER) === 'own') {
    // As the README shows it: a Server on Fastify's HTTP server, closed with the app.
    app.decorate('io', new Server(app.server, ioOptions))
    app.addHook('onClose', async () => { await app.io.close() })
  } else {
    // fastify-socket.io 4 types a CommonJS default export: under NodeNext, its plugin is `.default`.
    await app.register(socketio.default, ioOptions)
  }
  if (options.beforePlugin) await app.after().then(() => options.beforePlugin?.(app))
  await app.register(socketSession, { cookieName, ...options.plugin })

  app.post('/login', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    request.session.set('user' as never, (body.user ?? 'ada') as never)
    for (const [key, value] of Object.entries(body)) request.session.set(key as never, value as never)
    return { ok: true }
  })
  app.post('/logout', async (request) => {
    await request.session.destroy()
    return { ok: true }
  })
  app.get('/session', async (request) => {
    const data: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(request.session)) if (key !== 'cookie') data[key] = value
    return data
  })
  app.post('/set', async (request) => {
    for (const [key, value] of Object.entries(request.body as Record<string, unknown>)) request.session.set(key as never, value as never)
    return { ok: true }
  })
  await options.setup?.(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const scheme = options.fastify && 'https' in options.fastify ? 'https' : 'http'
  const url = `${scheme}://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  const clients: ClientSocket[] = []
  const client: TestApp['client'] = (opts = {}, namespace = '/') => {
    const socket = connectClient(url + namespace, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, ...opts })
    clients.push(socket)
    return socket
  }
  const connected: TestApp['connected'] = async (opts, namespace) => {
    const socket = client(opts, namespace)
    return await new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket))
      socket.once('connect_error', reject)
      socket.connect()
    })
  }
  const http: TestApp['http'] = async (method, path, cookieHeader, body) => {
    const response = await fetch(url + path, {
      method,
      headers: { ...(cookieHeader ? { cookie: cookieHeader } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return await response.json() as Record<string, unknown>
  }
  const login: TestApp['login'] = async (data = {}) => {
    const response = await fetch(url + '/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) })
    const setCookie = response.headers.get('set-cookie') ?? ''
    return setCookie.split(';')[0]
  }
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    for (const socket of clients) socket.disconnect()
    await app.close()
    // quit, not disconnect: the adapter's last unsubscribe commands are answered first.
    await Promise.allSettled(redisClients.map(async (client) => await client.quit()))
  }
  t.teardown(close)
  return { app, url, cookieName, login, http, client, connected, close }
}

/** The session id in a `sessionId=<id>.<signature>` cookie (what the store keys on). */
export function sessionIdOf (cookie: string): string {
  return decodeURIComponent(cookie.split('=')[1]).split('.')[0]
}

/** One line of a captured Fastify (pino) log, parsed. */
export interface LogLine {
  level: number
  msg: string
  /** The serialized error, when one was logged. */
  err?: { type?: string, message: string, stack?: string, code?: string, [key: string]: unknown }
  [key: string]: unknown
}

/** A Fastify logger at `level` whose lines land, parsed, in `logs`. */
export function captureLogs (level: string): { logs: LogLine[], logger: { level: string, stream: { write: (line: string) => void } } } {
  const logs: LogLine[] = []
  return { logs, logger: { level, stream: { write: (line) => { logs.push(JSON.parse(line) as LogLine) } } } }
}

/** An error as Fastify and the plugin throw them: a message, and usually a code. */
export type CodedError = Error & { code?: string }

/** Registers with `register`, then readies the app; resolves with the error either threw (undefined if none). */
export async function registrationError (register: (app: FastifyInstance) => Promise<void> | void): Promise<CodedError | undefined> {
  const app = Fastify()
  try {
    await register(app)
    await app.ready()
    return undefined
  } catch (err) {
    return err as CodedError
  } finally {
    await app.close()
  }
}

/** Registers cookie, session, fastify-socket.io and the plugin with `options`, as most apps do. */
export const fullApp = (options: unknown) => async (app: FastifyInstance): Promise<void> => {
  await app.register(cookie)
  await app.register(session, { secret: SECRET, cookie: { secure: false } })
  await app.register(socketio.default)
  await app.register(socketSession, options as SocketSessionOptions)
}

/** Emits with an ack and resolves with the ack's arguments (typed by the caller: `call<{ user: string }>(…)`). */
export async function call<T = unknown> (socket: ClientSocket, event: string, ...args: unknown[]): Promise<T> {
  return await socket.timeout(5000).emitWithAck(event, ...args) as T
}

/** What the client gets with the events the tests wait for. */
export interface ClientEventArgs {
  'session:error': SessionErrorPayload
  /** An event route's error event (events sent without an ack). */
  error: EventErrorMessage
  disconnect: string
  connect: undefined
  connect_error: ConnectError
}

/** A refused connection, as socket.io-client reports it: the plugin's reason in `data`. */
export type ConnectError = Error & { data?: ClientErrorBody }

/** Resolves with the next occurrence of an event on a client (its first argument). */
export async function next<E extends string> (socket: ClientSocket, event: E): Promise<NextValue<E>> {
  // As a plain string: socket.io-client types each reserved event's listener apart.
  return await new Promise((resolve) => socket.once(event as string, (...args: unknown[]) => resolve(args[0] as NextValue<E>)))
}

type NextValue<E extends string> = E extends keyof ClientEventArgs ? ClientEventArgs[E] : unknown

/** An event route's reply, when it may be an error. */
export type MaybeError = Partial<ClientErrorReply>

/** A connection the plugin refused: socket.io-client's error, with the plugin's reason in `data`. */
export type Refusal = Error & { data: ClientErrorBody }

/** Resolves with the refusal a connection attempt got; rejects when it connected, or failed without the plugin's reason. */
export async function refused (connect: Promise<ClientSocket>): Promise<Refusal> {
  const err = await connect.then(() => { throw new Error('connected, although a refusal was expected') }, (err: ConnectError) => err)
  if (err.data === undefined) throw new Error(`the connection failed without a reason from the plugin: ${err.message}`)
  return err as Refusal
}


// ---- Waiting for conditions, and a clock the tests drive ----

/** Resolves once `check()` holds (it may be async), looking again every `interval` ms; rejects after `timeout` ms of real time. */
export async function waitFor (check: () => boolean | Promise<boolean>, { timeout = 5000, interval = 5, what = 'the condition' } = {}): Promise<void> {
  // performance.now(), not Date.now(): Date may be a fake clock's.
  const deadline = performance.now() + timeout
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`waitFor: ${what} did not hold within ${timeout} ms`)
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

/** Time the test moves on by hand. */
export interface FakeClock {
  /** Moves Date on by `ms` in steps of `step` ms: each step runs the intervals due, then lets the promises and I/O they started settle (one setImmediate). */
  tick: (ms: number, step?: number) => Promise<void>
}

/**
 * Fakes Date and setInterval (the plugin's lifecycle timer) until the test ends: Date stands still unless
 * `tick` moves it. Sockets, setTimeout and setImmediate stay real. Call it before `startApp`, so that the
 * plugin's timer is a fake one.
 */
export function fakeClock (t: { teardown: (fn: () => unknown) => void }): FakeClock {
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() })
  t.teardown(() => mock.timers.reset())
  return {
    async tick (ms, step = ms) {
      for (let moved = 0; moved < ms; moved += step) {
        mock.timers.tick(Math.min(step, ms - moved))
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  }
}

/** Resolves when `app` hears a message of `kind` from another node (`changed`, `shared`, ...). */
export async function hears (app: FastifyInstance, kind: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const listener = (heard: unknown): void => {
      if (heard !== kind) return
      app.io.off('fastify-socket.io-session', listener)
      resolve()
    }
    app.io.on('fastify-socket.io-session', listener)
  })
}
