// Type tests: compiled by `tsc --noEmit` in `npm test`; a typing regression fails the build.
import Fastify, { type FastifyContextConfig } from 'fastify'
import type { FastifySessionObject } from '@fastify/session'
import type { Server, Socket } from 'socket.io'
import { Type, type Static } from 'typebox'
import type { SessionStore } from '@fastify/session'
import fastifyRedis from '@fastify/redis'
import socketSession, { fastifySocketIoSession, ClientCodes, RedisStore, withHandshakeData, type RedisStoreOptions, type ClientCode, type HandshakeData, type RefusalData, type SocketSessionOptions } from '../plugin/index.js'
import { sessionClient } from '../plugin/testing.js'
import type { Equal, Expect } from './type-checks.js'

type Covered = [
  Expect<Equal<Socket['session'], FastifySessionObject>>,
  Expect<Equal<FastifyContextConfig['holdSockets'], boolean | undefined>>,
  Expect<Equal<ReturnType<Socket['session']['save']>, Promise<void>>>,
  Expect<Equal<Socket['session']['sessionId'], string>>,
  Expect<Equal<typeof fastifySocketIoSession, typeof socketSession>>,
  Expect<Equal<ClientCode, 'ORIGIN_NOT_ALLOWED' | 'INVALID_AUTH' | 'INVALID_QUERY' | 'SESSION_REQUIRED' | 'SESSION_STORE_ERROR' | 'SESSION_SAVE_FAILED' | 'SESSION_DESTROYED' | 'SESSION_EXPIRED' | 'INVALID_PAYLOAD' | 'FORBIDDEN' | 'HANDLER_ERROR' | 'RATE_LIMITED' | 'UNKNOWN_EVENT'>>,
  Expect<Equal<RefusalData['code'], ClientCode>>
]

// Session data typed the @fastify/session way reaches socket.session.
declare module 'fastify' {
  interface Session { views?: number, user?: string }
}

const Auth = Type.Object({ token: Type.String() })
const Query = Type.Object({ room: Type.Number(), admin: Type.Boolean({ default: false }) })
type Data = HandshakeData<typeof Auth, typeof Query>

type DataChecks = [
  Expect<Equal<Data['auth'], Static<typeof Auth>>>,
  Expect<Equal<Data['auth'], { token: string }>>,
  Expect<Equal<Data['query'], { room: number, admin: boolean }>>
]

export async function usage (): Promise<void> {
  const app = Fastify()
  const options: SocketSessionOptions<typeof Auth, typeof Query> = { auth: Auth, query: Query, requireSession: true }
  await app.register(socketSession, options)
  // @ts-expect-error requireSession is a boolean
  await app.register(socketSession, { requireSession: 'yes' })
  const io = app.io as Server<{ inc: (ack: (n: number) => void) => void }, {}, {}, Data>
  io.on('connection', (socket) => {
    const room: number = socket.data.query.room
    const token: string = socket.data.auth.token
    const views: number | undefined = socket.session.views
    socket.session.user = `${token}@${room}`
    socket.on('inc', (ack) => {
      socket.session.views = (views ?? 0) + 1
      ack(socket.session.views)
    })
    // @ts-expect-error views is a number
    socket.session.views = 'many'
    // @ts-expect-error auth has no such field
    void socket.data.auth.password
  })
  void ClientCodes.SESSION_REQUIRED
}

// The Redis store takes @fastify/redis's ioredis client, and is a @fastify/session store.
export async function redis (): Promise<void> {
  const app = Fastify()
  await app.register(fastifyRedis.default, { url: 'redis://127.0.0.1:6379' })
  const store: SessionStore = new RedisStore({ client: app.redis, prefix: 'app:', ttl: 60_000, timeout: 500 })
  const options: RedisStoreOptions = { client: app.redis }
  // @ts-expect-error a client is required
  void new RedisStore({ prefix: 'app:' })
  void store
  void options
}

export type { Covered, DataChecks }

// socket.data typed from the options the plugin was registered with, through withHandshakeData (no cast).
export async function handshakeDataUsage (): Promise<void> {
  const app = Fastify()
  const options = { auth: Auth, query: Query, requireSession: true }
  await app.register(socketSession, options)
  const io = withHandshakeData(app.io, options)
  io.on('connection', (socket) => {
    const checks: [
      Expect<Equal<typeof socket.data.auth, { token: string }>>,
      Expect<Equal<typeof socket.data.query, { room: number, admin: boolean }>>,
      Expect<Equal<typeof socket.session, FastifySessionObject>>
    ] = [true, true, true]
    void checks
    // @ts-expect-error room is a number
    socket.data.query.room.toUpperCase()
  })
  // Event route handlers get the same sockets.
  io.event('where', (socket) => socket.data.query.room + 1)
  // A namespace, and options with only a query: auth is absent.
  const chat = withHandshakeData(app.io.of('/chat'), { query: Query })
  chat.on('connection', (socket) => {
    const checks: [
      Expect<Equal<typeof socket.data.query.admin, boolean>>,
      Expect<Equal<typeof socket.data.auth, undefined>>
    ] = [true, true]
    void checks
  })
  // The event maps of a typed server are kept.
  const typed = app.io as unknown as Server<{ hello: (name: string) => void }, { welcome: (n: number) => void }>
  withHandshakeData(typed, options).on('connection', (socket) => {
    socket.on('hello', (name) => { socket.emit('welcome', name.length) })
    // @ts-expect-error welcome takes a number
    socket.emit('welcome', 'x')
  })
}

// The test client is typed with the event maps it is given.
export async function testingUsage (): Promise<void> {
  const app = Fastify()
  const { socket, cookie } = await sessionClient<{ welcome: (n: number) => void }, { hello: (name: string) => void }>(app, { session: { user: 'a' } })
  socket.emit('hello', 'x')
  // @ts-expect-error hello takes a string
  socket.emit('hello', 1)
  socket.on('welcome', (n) => {
    const checks: [Expect<Equal<typeof n, number>>] = [true]
    void checks
  })
  const checks: [Expect<Equal<typeof cookie, string | undefined>>] = [true]
  void checks
}
