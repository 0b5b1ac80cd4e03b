import t from 'tap'
import { RedisStore } from '../plugin/index.js'
import { startRedis } from './redis-server.js'
import { call, captureLogs, next, startApp, type MaybeError } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- A store that never answers: every call times out, memory stays bounded, close() returns ----

/** Resolves once `check()` holds, looking every 10 ms. */
async function until (check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10))
}

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('inc', (ack?: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack?.(socket.session.count) })
  })
}

t.test('a save the store never answers fails after storeTimeout: logged, SESSION_SAVE_FAILED, then the ack', async (t) => {
  const store = new FakeStore()
  const { logs, logger } = captureLogs('error')
  const { login, connected } = await startApp(t, { session: { store }, fastify: { logger }, plugin: { storeTimeout: 200 }, setup: handlers })
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  store.hangAll()
  const order: string[] = []
  socket.on('session:error', (e) => order.push(e.code))
  order.push(`ack:${await call(socket, 'inc')}`)
  t.same(order, ['SESSION_SAVE_FAILED', 'ack:1'])
  t.ok(logs.some((l) => l.err?.code === 'FST_SIO_SESSION_STORE' && /did not answer within 200 ms/.test(l.err.message)), 'logged as a timeout')
})

t.test('while a store hangs, at most 1,000 events of a session wait; the rest are answered at once with SESSION_SAVE_FAILED', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, {
    session: { store },
    plugin: { storeTimeout: 3000 },
    setup: (app) => {
      handlers(app)
      app.io.event('inc-route', (socket: any) => { socket.session.count = (socket.session.count ?? 0) + 1; return socket.session.count })
    }
  })
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  store.hangAll()
  // Listeners' sockets get the error event before the ack; routes reply with the error.
  let failed = 0
  socket.on('session:error', () => failed++)
  let acked = 0
  const waits: Array<() => void> = []
  const reach = async (count: number): Promise<void> => await new Promise((resolve) => waits.push(() => { if (acked === count) resolve() }))
  const first = reach(4000)
  const all = reach(5000)
  for (let i = 0; i < 5000; i++) {
    socket.emit(i % 2 === 0 ? 'inc' : 'inc-route', (reply: any) => {
      if (reply?.error?.code === 'SESSION_SAVE_FAILED') failed++
      acked++
      for (const wake of waits) wake()
    })
  }
  await first
  t.equal(failed, 4000, 'events beyond the first 1,000 are answered at once, each told its change is not saved yet')
  await all
  t.equal(failed, 5000, 'the 1,000 that waited are answered when their saves time out')
})

t.test('a socket that leaves while a save hangs releases its live session once the save timed out', async (t) => {
  const store = new FakeStore()
  const { logs, logger } = captureLogs('error')
  const { login, connected, http } = await startApp(t, { session: { store }, fastify: { logger }, plugin: { storeTimeout: 300 }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.hangAll()
  socket.emit('inc')
  socket.emit('inc')
  await until(() => store.hung === 1)
  const left = next(socket, 'disconnect')
  socket.disconnect()
  await left
  // The save in flight and the one queued behind it both time out.
  await until(() => logs.filter((l) => /did not answer/.test(l.err?.message ?? '')).length === 2)
  store.hangAll(false)
  await http('POST', '/set', cookie, { count: 41 })
  const again = await connected({ extraHeaders: { cookie } })
  t.equal(await call(again, 'inc'), 42, 'a new socket reads the store: the old live session was released')
})

t.test('close() returns within storeTimeout + 1 s while a store hangs, saves queued', async (t) => {
  const store = new FakeStore()
  const { app, login, connected } = await startApp(t, { session: { store }, plugin: { storeTimeout: 500 }, setup: handlers })
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  store.hangAll()
  socket.emit('inc')
  socket.emit('inc')
  await until(() => store.hung === 1)
  const started = Date.now()
  await app.close()
  const took = Date.now() - started
  t.ok(took < 1500, `close() took ${took} ms`)
})

t.test('events waiting for a session to be read again are bounded too: the rest are answered at once', async (t) => {
  const redis = await startRedis(t)
  // Node B's store reads through a client whose HGETALL can be made to hang.
  const client = redis.client()
  let hang = false
  let hung = 0
  const hanging = new Proxy(client, {
    get (target, name) {
      if (name === 'hgetall') return async (key: string) => { if (!hang) return await target.hgetall(key); hung++; return await new Promise(() => {}) }
      const value = Reflect.get(target, name)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const setup = (app: any): void => {
    app.io.event('ping', () => 'pong')
    app.io.on('connection', (socket: any) => { socket.on('plain', (ack: (v: unknown) => void) => ack('plain')) })
  }
  const a = await startApp(t, { redis: redis.url, setup })
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', resolve))
  const b = await startApp(t, { redis: redis.url, session: { store: new RedisStore({ client: hanging as any, timeout: 1000 }) }, setup })
  await hello
  const cookie = await a.login()
  const socket = await b.connected({ extraHeaders: { cookie } })
  hang = true
  // A write on node A: node B reads the session again before its next events run, and that read hangs.
  await a.http('POST', '/set', cookie, { color: 'red' })
  await until(() => hung === 1)
  const replies = await Promise.all(Array.from({ length: 1200 }, async () => await call<string | MaybeError>(socket, 'ping')))
  const failed = replies.filter((reply) => typeof reply === 'object' && reply.error?.code === 'SESSION_SAVE_FAILED').length
  t.equal(failed, 200, 'beyond 1,000 waiting events, routes are answered at once')
  t.equal(replies.filter((reply) => reply === 'pong').length, 1000, 'the others ran once the read gave up')
  hang = true
  await a.http('POST', '/set', cookie, { color: 'blue' })
  await until(() => hung === 2)
  const waiting = Array.from({ length: 1000 }, async () => await call(socket, 'ping'))
  const told = next(socket, 'session:error')
  socket.emit('plain', () => t.fail('a listener event answered at once is not run'))
  t.same(await told, { error: { code: 'SESSION_SAVE_FAILED', message: 'the session could not be saved' }, code: 'SESSION_SAVE_FAILED', message: 'the session could not be saved' }, 'a listener\'s socket is told at once')
  t.equal((await Promise.all(waiting)).length, 1000)
})
