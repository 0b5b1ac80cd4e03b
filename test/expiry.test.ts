import t from 'tap'
import { MemoryStore } from '@fastify/session'
import { startApp, call, next } from './helpers.js'
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
  const store = new MemoryStore()
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
  t.same(await told, { error: { code: 'SESSION_EXPIRED', message: 'the session expired' }, code: 'SESSION_EXPIRED', message: 'the session expired' })
  const late = Date.now() - expires
  t.equal(await reason, 'io server disconnect')
  t.ok(late >= 0 && late <= 100 + 50, `ended ${late} ms after the expiry`)
})

t.test('rolling: socket activity extends the expiry, written at most once per touchAfter', async (t) => {
  const store = new MemoryStore()
  const writes: number[] = []
  const set = store.set.bind(store)
  store.set = (id: string, session: any, done: any) => { writes.push(Date.now()); set(id, session, done) }
  const { login, connected } = await startApp(t, {
    session: { store, cookie: { secure: false, maxAge: 600 } },
    plugin: { checkInterval: 50, touchAfter: 1000 },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const first = storedExpiry(store)
  writes.length = 0
  const until = first + 900
  let events = 0
  // Activity for longer than the cookie's maxAge: the session stays.
  while (Date.now() < until) {
    t.equal(await call(socket, 'ping'), 'pong')
    events++
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(socket.connected, 'still connected after the original expiry')
  t.ok(storedExpiry(store) > first + 500, 'the stored expiry moved on')
  // touchAfter is capped at a tenth of maxAge (60 ms): far fewer writes than events.
  t.ok(writes.length >= 2 && writes.length < events / 2, `${writes.length} writes for ${events} events`)
  const told = next(socket, 'session:error')
  t.equal((await told).code, 'SESSION_EXPIRED', 'once idle, it expires')
})

t.test('rolling: false leaves the expiry alone', async (t) => {
  const store = new MemoryStore()
  const { login, connected } = await startApp(t, {
    session: { store, rolling: false, cookie: { secure: false, maxAge: 60_000 } },
    plugin: { rolling: false },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const first = storedExpiry(store)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await call(socket, 'inc'), 1)
  t.equal(storedExpiry(store), first)
})

t.test('an HTTP request that extends the session keeps its sockets', async (t) => {
  const store = new MemoryStore()
  const { login, connected, http } = await startApp(t, {
    session: { store, cookie: { secure: false, maxAge: 500 } },
    plugin: { checkInterval: 50, rolling: false },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const first = storedExpiry(store)
  // @fastify/session's rolling saves every request with a fresh expiry.
  while (Date.now() < first + 400) {
    await http('GET', '/session', cookie)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(socket.connected, 'still connected after the original expiry')
  t.equal(await call(socket, 'ping'), 'pong')
})

t.test('a session read again while the store fails: an expired one ends, a live one stays', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, {
    session: { store, rolling: false, cookie: { secure: false, maxAge: 400 } },
    plugin: { checkInterval: 50, revalidateInterval: 60 },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.fail.get = new Error('store down')
  // Revalidations fail (logged) before the expiry; the socket stays until then.
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(socket.connected)
  t.equal((await next(socket, 'session:error')).code, 'SESSION_EXPIRED')
})
