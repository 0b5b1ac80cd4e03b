import t from 'tap'
import { MemoryStore } from '@fastify/session'
import { startApp, call, next, fakeClock } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Expiry and rolling sessions ----

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('ping', (ack: (v: unknown) => void) => ack('pong'))
    socket.on('inc', (ack: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack(socket.session.count) })
  })
}

/** The stored expiry of the only session in a memory store. */
const storedExpiry = (store: any): number => new Date([...store.store.values()][0].cookie.expires).getTime()

t.test('an idle socket is ended when its session expires, at most one check interval late', async (t) => {
  const clock = fakeClock(t)
  const store = new FakeStore()
  const { login, connected } = await startApp(t, {
    session: { store, rolling: false, cookie: { secure: false, maxAge: 800 } },
    plugin: { checkInterval: 100 },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const expires = storedExpiry(store)
  const told = next(socket, 'session:error')
  const reason = next(socket, 'disconnect')
  const reads = store.counts.get
  // Every check up to 100 ms before the expiry; a check that found the session expired would read it again.
  await clock.tick(700, 100)
  t.equal(store.counts.get, reads, 'not checked again before it expired')
  await clock.tick(100)
  t.same(await told, { error: { code: 'SESSION_EXPIRED', message: 'the session expired' }, code: 'SESSION_EXPIRED', message: 'the session expired' })
  const late = Date.now() - expires
  t.equal(await reason, 'io server disconnect')
  t.ok(late >= 0 && late <= 100, `ended ${late} ms after the expiry`)
})

t.test('rolling: socket activity extends the expiry, written at most once per touchAfter', async (t) => {
  const clock = fakeClock(t)
  const store = new FakeStore()
  const { login, connected } = await startApp(t, {
    session: { store, cookie: { secure: false, maxAge: 600 } },
    plugin: { checkInterval: 50, touchAfter: 1000 },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const first = storedExpiry(store)
  const writes = store.counts.set
  let events = 0
  const until = first + 900
  // Activity for longer than the cookie's maxAge: an event every 20 ms until 900 ms past the first expiry; the session stays.
  while (Date.now() < until) {
    await clock.tick(20)
    t.equal(await call(socket, 'ping'), 'pong')
    events++
  }
  t.ok(socket.connected, 'still connected after the original expiry')
  t.ok(storedExpiry(store) > first + 500, 'the stored expiry moved on')
  // touchAfter is capped at a tenth of maxAge (60 ms): far fewer writes than events.
  const written = store.counts.set - writes
  t.ok(written >= 2 && written < events / 2, `${written} writes for ${events} events`)
  const told = next(socket, 'session:error')
  await clock.tick(700, 50)
  t.equal((await told).code, 'SESSION_EXPIRED', 'once idle, it expires')
})

t.test('rolling: false leaves the expiry alone', async (t) => {
  const clock = fakeClock(t)
  const store = new MemoryStore()
  const { login, connected } = await startApp(t, {
    session: { store, rolling: false, cookie: { secure: false, maxAge: 60_000 } },
    plugin: { rolling: false },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const first = storedExpiry(store)
  await clock.tick(20)
  t.equal(await call(socket, 'inc'), 1)
  t.equal(storedExpiry(store), first)
})

t.test('an HTTP request that extends the session keeps its sockets', async (t) => {
  const clock = fakeClock(t)
  const store = new MemoryStore()
  const { login, connected, http } = await startApp(t, {
    session: { store, cookie: { secure: false, maxAge: 500 } },
    plugin: { checkInterval: 50, rolling: false },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const first = storedExpiry(store)
  // @fastify/session's rolling saves every request with a fresh expiry: one every 50 ms, until 400 ms after the first expiry.
  while (Date.now() < first + 400) {
    await http('GET', '/session', cookie)
    await clock.tick(50)
  }
  t.ok(socket.connected, 'still connected after the original expiry')
  t.equal(await call(socket, 'ping'), 'pong')
})

t.test('a session read again while the store fails: an expired one ends, a live one stays', async (t) => {
  const clock = fakeClock(t)
  const store = new FakeStore()
  const { app, login, connected } = await startApp(t, {
    session: { store, rolling: false, cookie: { secure: false, maxAge: 400 } },
    plugin: { checkInterval: 50, revalidateInterval: 60 },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.fail.get = new Error('store down')
  const failed = (): number => store.calls.filter((call) => call.outcome === 'failed').length
  const told = next(socket, 'session:error')
  // Revalidations fail (logged) before the expiry; the socket stays until then.
  await clock.tick(200, 50)
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(failed() >= 2, `${failed()} revalidations failed before the expiry`)
  t.ok(socket.connected)
  t.equal(app.io.of('/').sockets.size, 1, 'the server kept the socket')
  await clock.tick(storedExpiry(store) - Date.now(), 50)
  t.equal((await told).code, 'SESSION_EXPIRED')
})
