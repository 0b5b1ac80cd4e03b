import t, { type Test } from 'tap'
import { MemoryStore } from '@fastify/session'
import { startRedis } from './redis-server.js'
import { call, next, sessionIdOf, startApp, type TestApp, type CodedError } from './helpers.js'
import { FakeStore } from './fake-store.js'
import type { SessionErrorPayload } from '../plugin/index.js'

// ---- A session that no longer exists ends its sockets, however it was found gone ----

const redis = await startRedis(t)

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('inc', (ack: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack(socket.session.count) })
    socket.on('user', (ack: (v: unknown) => void) => ack(socket.session.user ?? null))
    socket.on('reload', async (ack: (v: unknown) => void) => { await socket.session.reload().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
    socket.on('logout', async (ack: (v: unknown) => void) => { await socket.session.destroy().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
  })
}

/** Two tabs of one logged-in session, with what each is told before the server disconnects it. */
async function twoTabs (app: TestApp): Promise<{ cookie: string, tabs: any[], ended: Array<Promise<[string, string]>> }> {
  const cookie = await app.login({ user: 'ada' })
  const tabs = [await app.connected({ extraHeaders: { cookie } }), await app.connected({ extraHeaders: { cookie }, transports: ['polling'] })]
  const ended = tabs.map(async (tab) => {
    const codes: string[] = []
    tab.on('session:error', (e: SessionErrorPayload) => codes.push(e.code))
    const reason = await next(tab, 'disconnect')
    return [codes.at(-1), reason] as [string, string]
  })
  return { cookie, tabs, ended }
}

/** Both tabs were told SESSION_DESTROYED and disconnected by the server; the live session is gone; the cookie gets no session. */
async function endedLikeALogout (t: Test, app: TestApp, cookie: string, ended: Array<Promise<[string, string]>>): Promise<void> {
  t.same(await Promise.all(ended), [['SESSION_DESTROYED', 'io server disconnect'], ['SESSION_DESTROYED', 'io server disconnect']])
  t.equal(app.app.io.of('/').sockets.size, 0)
  const again = await app.connected({ extraHeaders: { cookie } })
  t.equal(await call(again, 'user'), null, 'a reconnect with the old cookie has no session')
}

for (const where of ['memory', 'redis'] as const) {
  t.test(`${where}: a save that finds the session gone ends every socket of it, as a logout does`, async (t) => {
    const store = new MemoryStore() as MemoryStore & { store: Map<string, unknown> }
    const app = await startApp(t, where === 'redis' ? { redis: redis.url, setup: handlers } : { session: { store }, setup: handlers })
    const { cookie, tabs, ended } = await twoTabs(app)
    t.equal(await call(tabs[0], 'inc'), 1)
    const id = sessionIdOf(cookie)
    if (where === 'redis') await redis.client().del(`sess:${id}`)
    else store.store.delete(id)
    await call(tabs[0], 'inc')
    await endedLikeALogout(t, app, cookie, ended)
  })
}

t.test('redis: a tombstone met by a save ends the sockets too', async (t) => {
  const app = await startApp(t, { redis: redis.url, setup: handlers })
  const { cookie, tabs, ended } = await twoTabs(app)
  await redis.client().set(`sess:${sessionIdOf(cookie)}`, '0', 'PX', 60_000)
  await call(tabs[1], 'inc')
  await endedLikeALogout(t, app, cookie, ended)
})

t.test('reload() that finds the session gone rejects, and ends every socket of it', async (t) => {
  const store = new MemoryStore() as MemoryStore & { store: Map<string, unknown> }
  const app = await startApp(t, { session: { store }, setup: handlers })
  const { cookie, tabs, ended } = await twoTabs(app)
  store.store.clear()
  t.equal(await call(tabs[0], 'reload'), 'FST_SIO_SESSION_GONE')
  await endedLikeALogout(t, app, cookie, ended)
})

t.test('a destroy() whose store call fails is reported to its caller, and the sockets are ended anyway', async (t) => {
  const store = new FakeStore({ fail: { destroy: new Error('cannot delete') } })
  const app = await startApp(t, { session: { store }, setup: handlers })
  const { cookie, tabs, ended } = await twoTabs(app)
  t.equal(await call(tabs[0], 'logout'), 'FST_SIO_SESSION_STORE')
  t.same(await Promise.all(ended), [['SESSION_DESTROYED', 'io server disconnect'], ['SESSION_DESTROYED', 'io server disconnect']])
  t.equal(app.app.io.of('/').sockets.size, 0)
  t.ok(cookie)
})

t.test('redis: a destroy() that times out while Redis stalls ends the sockets, on this node and the other', async (t) => {
  const options = { redis: redis.url, redisStore: { timeout: 200 }, setup: handlers }
  const a = await startApp(t, options)
  const b = await startApp(t, options)
  const cookie = await a.login({ user: 'ada' })
  const here = await a.connected({ extraHeaders: { cookie } })
  const there = await b.connected({ extraHeaders: { cookie } })
  const ended = [here, there].map(async (tab) => await next(tab, 'disconnect'))
  // Redis answers no client for a while: the delete lands after the caller was told it failed.
  await redis.client().client('PAUSE', 1000, 'WRITE')
  t.equal(await call(here, 'logout'), 'FST_SIO_SESSION_STORE', 'the caller is told (a timeout, as a store error)')
  t.same(await Promise.all(ended), ['io server disconnect', 'io server disconnect'])
})

t.test('a change made after destroy() in the same listener is not written: SESSION_SAVE_FAILED, then the end', async (t) => {
  const store = new MemoryStore() as MemoryStore & { store: Map<string, unknown> }
  const app = await startApp(t, {
    session: { store },
    setup: (app: any) => {
      app.io.on('connection', (socket: any) => {
        socket.on('logout-then-write', async (ack: (v: unknown) => void) => {
          await socket.session.destroy()
          socket.session.after = 'logout'
          ack('ok')
        })
      })
    }
  })
  const cookie = await app.login()
  const socket = await app.connected({ extraHeaders: { cookie } })
  const codes: string[] = []
  socket.on('session:error', (e: SessionErrorPayload) => codes.push(e.code))
  const ended = next(socket, 'disconnect')
  t.equal(await call(socket, 'logout-then-write'), 'ok')
  t.equal(await ended, 'io server disconnect')
  t.same(codes, ['SESSION_SAVE_FAILED', 'SESSION_DESTROYED'])
  t.equal(store.store.has(sessionIdOf(cookie)), false, 'nothing was written back')
})

t.test('a logout that does not hold the sockets (a GET) while a socket\'s save is in flight: the save does not write the session back (a store without tombstones)', async (t) => {
  const store = new FakeStore()
  let reached = (): void => {}
  const atLogout = new Promise<void>((resolve) => { reached = resolve })
  const app = await startApp(t, {
    session: { store },
    setup: (app) => {
      handlers(app)
      app.get('/bye', async (request: any) => {
        reached()
        await request.session.destroy()
        return { ok: true }
      })
    }
  })
  const cookie = await app.login({ user: 'ada' })
  const id = sessionIdOf(cookie)
  const socket = await app.connected({ extraHeaders: { cookie } })
  const ended = next(socket, 'disconnect')
  // The socket's save has read the session and waits to write it.
  const gate = store.hold('set')
  const sets = store.counts.set
  const acked = call(socket, 'inc')
  await store.called('set', sets + 1)
  const bye = app.http('GET', '/bye', cookie)
  await atLogout
  // Whatever the destroy was going to do at once, it has done.
  await new Promise((resolve) => setImmediate(resolve))
  gate.open()
  t.same(await bye, { ok: true })
  t.equal(await acked, 1, 'the event was answered')
  t.equal(await ended, 'io server disconnect', 'the socket is ended, as at a logout')
  t.notOk(store.store.has(id), 'the session stays destroyed')
  t.same(await app.http('GET', '/session', cookie), {}, 'the old cookie gets no session')
})

t.test('a socket\'s logout while an HTTP save that holds no sockets (a GET) is in flight: the save does not write the session back (a store without tombstones)', async (t) => {
  const store = new FakeStore()
  const app = await startApp(t, {
    session: { store },
    setup: (app) => {
      handlers(app)
      app.get('/visit', async (request: any) => {
        request.session.visits = 1
        return { ok: true }
      })
    }
  })
  const cookie = await app.login({ user: 'ada' })
  const id = sessionIdOf(cookie)
  const socket = await app.connected({ extraHeaders: { cookie } })
  // The request's save has read the session and waits to write it.
  const gate = store.hold('set')
  const sets = store.counts.set
  const visit = app.http('GET', '/visit', cookie)
  await store.called('set', sets + 1)
  const destroys = store.counts.destroy
  const out = call(socket, 'logout')
  // Whatever the socket's destroy was going to do at once, it has done.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(store.counts.destroy, destroys, 'the destroy waits for the save in flight')
  gate.open()
  t.same(await visit, { ok: true })
  t.equal(await out, 'ok')
  t.notOk(store.store.has(id), 'the session stays destroyed')
  t.same(await app.http('GET', '/session', cookie), {}, 'the old cookie gets no session')
})
