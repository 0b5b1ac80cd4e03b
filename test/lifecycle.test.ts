import t from 'tap'
import { MemoryStore } from '@fastify/session'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { startRedis } from './redis-server.js'
import { startApp, call, next, sessionIdOf, fakeClock, waitFor, type CodedError } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Lifecycle edge cases: shared stores, stray messages, the adapter down while the store works ----

const redis = await startRedis(t)

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    const s = socket.session
    socket.on('get', (key: string, ack: (v: unknown) => void) => ack(s[key] ?? null))
    socket.on('save', async (ack: (v: unknown) => void) => { s.x = 1; await s.save().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
    socket.on('reload', async (ack: (v: unknown) => void) => { await s.reload().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
    socket.on('destroy-twice', async (ack: (v: unknown) => void) => {
      await s.destroy()
      await s.destroy()
      ack('ok')
    })
  })
}

t.test('two apps on one store: closing one leaves the other told of HTTP writes and logouts', async (t) => {
  const store = new MemoryStore()
  const first = await startApp(t, { session: { store }, setup: handlers })
  const second = await startApp(t, {
    session: { store },
    setup: handlers
  })
  const cookie = await second.login({ user: 'ada' })
  await first.close()
  const socket = await second.connected({ extraHeaders: { cookie } })
  await second.http('POST', '/set', cookie, { cart: ['pen'] })
  t.same(await call(socket, 'get', 'cart'), ['pen'])
  const told = next(socket, 'session:error')
  await fetch(`${second.url}/logout`, { method: 'POST', headers: { cookie } })
  t.equal((await told).code, 'SESSION_DESTROYED')
})

t.test('save() and reload() of a session the store lost without a word reject with FST_SIO_SESSION_GONE', async (t) => {
  const store = new MemoryStore()
  const { login, connected } = await startApp(t, { session: { store }, setup: handlers })
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  const other = await connected({ extraHeaders: { cookie: await login() } })
  ;(store as any).store.clear()
  t.equal(await call(socket, 'save'), 'FST_SIO_SESSION_GONE')
  t.equal(await call(other, 'reload'), 'FST_SIO_SESSION_GONE')
  t.equal((store as any).store.size, 0, 'nothing was recreated')
})

t.test('destroy() twice in one handler ends the sockets once', async (t) => {
  const { login, connected } = await startApp(t, { setup: handlers })
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  const errors: unknown[] = []
  socket.on('session:error', (e) => errors.push(e.code))
  const gone = next(socket, 'disconnect')
  t.equal(await call(socket, 'destroy-twice'), 'ok')
  t.equal(await gone, 'io server disconnect')
  t.same(errors, ['SESSION_DESTROYED'])
})

t.test('messages the plugin does not know are ignored', async (t) => {
  const options = { redis: redis.url, setup: handlers }
  const a = await startApp(t, options)
  const b = await startApp(t, options)
  const cookie = await a.login({ user: 'ada' })
  const socket = await a.connected({ extraHeaders: { cookie } })
  const id = sessionIdOf(cookie)
  const { sessionKey } = await import('../plugin/session/registry.js')
  const heard = new Promise<void>((resolve) => a.app.io.on('fastify-socket.io-session', (kind: unknown, key: unknown) => { if (kind === 'gone' && key === 42) resolve() }))
  b.app.io.serverSideEmit('fastify-socket.io-session', 'unknown', sessionKey(id))
  b.app.io.serverSideEmit('fastify-socket.io-session', 'gone', 42)
  await heard
  t.equal(await call(socket, 'get', 'user'), 'ada', 'the socket stays, with its session')
})

t.test('the adapter\'s Redis down while the store works: a logout still ends the local sockets', async (t) => {
  // Without an offline queue, the adapter's publishing client refuses commands at once while Redis is down.
  const pub = new Redis(redis.url, { enableOfflineQueue: false })
  await new Promise((resolve) => pub.once('ready', resolve))
  const sub = new Redis(redis.url)
  for (const client of [pub, sub]) client.on('error', () => {})
  const rejections: unknown[] = []
  const record = (err: unknown): void => { rejections.push(err) }
  process.on('unhandledRejection', record)
  t.teardown(() => process.off('unhandledRejection', record))
  const clock = fakeClock(t)
  const store = new FakeStore()
  const { login, connected, url, close } = await startApp(t, {
    io: { adapter: createAdapter(pub, sub) },
    session: { store },
    plugin: { checkInterval: 20, revalidateInterval: 20 },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  await redis.kill()
  await waitFor(() => pub.status !== 'ready', { what: 'the publishing client to see Redis gone' })
  // Revalidation ticks meanwhile ask the adapter to count nodes, which fails: they carry on (each reads the session again).
  const reads = store.counts.get
  await clock.tick(200, 20)
  t.equal(store.counts.get - reads, 10, 'ten ticks, ten revalidation reads')
  const told = next(socket, 'session:error')
  await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } })
  t.equal((await told).code, 'SESSION_DESTROYED')
  t.same(rejections.map((e) => String((e as Error)?.stack)), [], 'the message that could not be sent left no unhandled rejection')
  // Redis back, then the app closed (its adapter unsubscribes), then the adapter's clients.
  await redis.start()
  if (pub.status !== 'ready') await new Promise((resolve) => pub.once('ready', resolve))
  await close()
  await Promise.allSettled([pub.quit(), sub.quit()])
})

t.test('revalidation takes in a write nobody announced, even while reads overlap', async (t) => {
  const clock = fakeClock(t)
  const store = new FakeStore()
  const { login, connected } = await startApp(t, {
    session: { store },
    // Ticks come faster than the store answers: a tick that finds a read running adds none.
    plugin: { checkInterval: 10, revalidateInterval: 10 },
    setup: handlers
  })
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  const stored = [...store.store.values()][0]
  stored.cart = ['written behind the plugin\'s back']
  // The store answers no read until the gate opens: every tick meanwhile finds the first read running.
  const held = store.hold('get')
  const reads = store.counts.get
  await clock.tick(60, 10)
  t.equal(store.counts.get - reads, 1, `reads do not pile up: ${store.counts.get - reads} in 6 ticks while one read was running`)
  t.equal(await call(socket, 'get', 'user'), 'ada', 'events do not wait for timer reads')
  held.open()
  await store.until(() => store.last('get')?.outcome === 'ok')
  t.same(await call(socket, 'get', 'cart'), ['written behind the plugin\'s back'])
})

t.test('two writes announced during one read: the next event waits for a second read and sees both', async (t) => {
  // Two nodes in one process share the sessions (one Map); the adapter carries the messages.
  // Node B's reads can be held.
  const sessions = new Map()
  const store = new FakeStore({ sessions })
  const a = await startApp(t, { redis: redis.url, session: { store: new MemoryStore(sessions) }, setup: handlers })
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', resolve))
  const b = await startApp(t, { redis: redis.url, session: { store }, setup: handlers })
  await hello
  const cookie = await a.login({ user: 'ada' })
  const socket = await b.connected({ extraHeaders: { cookie } })
  const announced = new Promise<void>((resolve) => {
    let count = 0
    b.app.io.on('fastify-socket.io-session', (kind: string) => { if (kind === 'changed' && ++count === 2) resolve() })
  })
  // B's read after the first announcement is held until the second has arrived too.
  const held = store.hold('get')
  await a.http('POST', '/set', cookie, { first: 1 })
  await a.http('POST', '/set', cookie, { second: 2 })
  await announced
  t.equal(held.waiting, 1, 'one read was running when the second write was announced')
  held.open()
  t.same([await call(socket, 'get', 'first'), await call(socket, 'get', 'second')], [1, 2])
})

t.test('revalidation is spread over the interval: each session read about once per revalidateInterval, not all at once', async (t) => {
  const clock = fakeClock(t)
  const store = new FakeStore()
  const { login, connected } = await startApp(t, {
    session: { store },
    plugin: { checkInterval: 50, revalidateInterval: 500 },
    setup: handlers
  })
  for (let i = 0; i < 10; i++) await connected({ extraHeaders: { cookie: await login({ user: `user ${i}` }) } })
  const first = store.calls.length
  // 20 ticks of 50 ms (a second): the reads of each tick counted apart.
  const perTick: number[] = []
  for (let tick = 0; tick < 20; tick++) {
    const before = store.counts.get
    await clock.tick(50)
    perTick.push(store.counts.get - before)
  }
  const reads = store.calls.slice(first).filter((call) => call.method === 'get')
  // 10 sessions, one read each per 500 ms: 20 reads in a second, one per 50 ms tick.
  t.equal(reads.length, 20, `${reads.length} reads in 20 ticks of 50 ms`)
  t.same(perTick, Array(20).fill(1), 'one read per tick, never several at once')
  const perSession = new Map<string, number>()
  for (const { id } of reads) perSession.set(id, (perSession.get(id) ?? 0) + 1)
  t.same([...perSession.values()], Array(10).fill(2), 'each of the 10 sessions read twice, once per 500 ms')
})
