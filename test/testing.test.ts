import t from 'tap'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import { Server } from 'socket.io'
import { Type } from 'typebox'
import socketSession from '../plugin/index.js'
import { sessionClient } from '../plugin/testing.js'
import { FakeStore } from './fake-store.js'
import { SECRET, call } from './helpers.js'

// ---- sessionClient: a connected client whose session the app's own store and signer made ----

interface AppOptions { plugin?: Record<string, unknown>, https?: boolean, cookieName?: string }

/** An app that is not listening yet: sessionClient makes it listen. */
async function makeApp (t: { teardown: (fn: () => unknown) => void }, options: AppOptions = {}) {
  const store = new FakeStore()
  const https = options.https === true
    ? { key: readFileSync(new URL('./fixtures/localhost.key', import.meta.url)), cert: readFileSync(new URL('./fixtures/localhost.crt', import.meta.url)) }
    : undefined
  const app = Fastify((https === undefined ? {} : { https }) as {})
  await app.register(cookie)
  await app.register(session, { secret: SECRET, store, cookie: { secure: 'auto' }, ...(options.cookieName ? { cookieName: options.cookieName } : {}) })
  app.decorate('io', new Server(app.server))
  app.addHook('onClose', async () => { await app.io.close() })
  await app.register(socketSession, { ...(options.cookieName ? { cookieName: options.cookieName } : {}), ...options.plugin })
  app.io.on('connection', (socket) => {
    socket.on('whoami', (ack: (v: unknown) => void) => ack({ user: socket.session.user ?? null, data: socket.data }))
    socket.on('rename', (name: string, ack: () => void) => { socket.session.set('user' as never, name as never); ack() })
  })
  app.io.of('/admin').on('connection', (socket) => {
    socket.on('whoami', (ack: (v: unknown) => void) => ack({ user: socket.session.user ?? null, data: socket.data }))
  })
  app.get('/me', async (request) => ({ user: request.session.user ?? null }))
  await app.ready()
  t.teardown(async () => await app.close())
  return { app, store }
}


t.test('a session with the given keys, a real cookie for app.inject(), and the app listening', async (t) => {
  const { app, store } = await makeApp(t)
  t.notOk(app.server.listening)
  const { socket, cookie, sessionId } = await sessionClient(app, { session: { user: 'alice' } })
  t.teardown(() => { socket.disconnect() })
  t.ok(app.server.listening, 'listening on 127.0.0.1')
  t.match(cookie, /^sessionId=[^;]+$/)
  t.equal(store.store.get(sessionId as string)?.user, 'alice', 'stored through the app\'s own store')
  t.match(await call(socket, 'whoami'), { user: 'alice' })
  await call(socket, 'rename', 'alicia')
  const response = await app.inject({ url: '/me', headers: { cookie: cookie as string } })
  t.same(response.json(), { user: 'alicia' }, 'HTTP sees what the socket changed, with the same cookie')
})

t.test('namespace, auth, query and transport; no session without `session`', async (t) => {
  const { app } = await makeApp(t, { plugin: { auth: Type.Object({ token: Type.String() }), query: Type.Object({ room: Type.Number() }) } })
  const { socket, cookie, sessionId } = await sessionClient(app, { namespace: '/admin', auth: { token: 'x' }, query: { room: '7' }, transport: 'polling' })
  t.teardown(() => { socket.disconnect() })
  t.equal(cookie, undefined)
  t.equal(sessionId, undefined)
  t.same(await call(socket, 'whoami'), { user: null, data: { auth: { token: 'x' }, query: { room: 7 } } })
  t.equal(socket.io.engine.transport.name, 'polling')
})

t.test('a refused handshake rejects with its connect_error', async (t) => {
  const { app } = await makeApp(t, { plugin: { requireSession: true } })
  const err: any = await sessionClient(app).catch((err) => err)
  t.equal(err.data?.code, 'SESSION_REQUIRED')
  const { socket } = await sessionClient(app, { session: { user: 'bob' }, client: { timeout: 5000 } })
  t.teardown(() => { socket.disconnect() })
  t.match(await call(socket, 'whoami'), { user: 'bob' })
})

t.test('another cookie name; HTTPS', async (t) => {
  const { app } = await makeApp(t, { cookieName: 'sid', https: true })
  const { socket, cookie } = await sessionClient(app, { session: { user: 'cy' }, client: { rejectUnauthorized: false } as any })
  t.teardown(() => { socket.disconnect() })
  t.match(cookie, /^sid=/)
  t.match(await call(socket, 'whoami'), { user: 'cy' })
})

t.test('an instance the plugin is not registered on: a clear error', async (t) => {
  const bare = Fastify()
  t.teardown(async () => await bare.close())
  await t.rejects(sessionClient(bare), { code: 'FST_SIO_SESSION_NOT_REGISTERED' })
})
