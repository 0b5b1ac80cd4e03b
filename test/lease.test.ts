import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startRedis } from './redis-server.js'
import { ACQUIRE } from '../plugin/redis/scripts.js'
import { call, captureLogs, hears, next, startApp, sessionIdOf, type AppOptions } from './helpers.js'

// ---- A session held on two nodes: its events wait for its lease, and are answered when it cannot be had ----

const redis = await startRedis(t)
const admin = redis.client()

/** Lets the running `slow` event finish. */
let release = (): void => {}

const routes = (app: FastifyInstance): void => {
  app.io.on('connection', (socket) => {
    socket.on('inc', (ack: (v: unknown) => void) => { const s = socket.session as any; s.count = (s.count ?? 0) + 1; ack(s.count) })
  })
  app.io.event('slow', async () => { await new Promise<void>((resolve) => { release = resolve }); return 'slow' })
  app.io.event('inc-route', (socket) => {
    const s = socket.session as any
    s.count = (s.count ?? 0) + 1
    return s.count
  })
}

/** Two nodes on one Redis, and a session held on both (each knows it); A has a logger whose lines the test reads. */
async function sharedSession (t: Test, options: AppOptions = {}) {
  const { logs, logger } = captureLogs('warn')
  const opts: AppOptions = { redis: redis.url, setup: routes, ...options, plugin: { requireSession: true, ...options.plugin } }
  const a = await startApp(t, { ...opts, fastify: { logger } })
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', resolve))
  const b = await startApp(t, opts)
  await hello
  const cookie = await a.login()
  const tabA = await a.connected({ extraHeaders: { cookie } })
  const shared = hears(a.app, 'shared')
  const tabB = await b.connected({ extraHeaders: { cookie } })
  await shared
  const key = `sess:${sessionIdOf(cookie)}`
  return { a, b, cookie, tabA, tabB, logs, key, lease: `{${key}}:lease` }
}

t.test('an event waits while another holder has the lease, and runs once it is given back', async (t) => {
  const { tabA, lease } = await sharedSession(t)
  await admin.set(lease, 'another node', 'PX', 10_000)
  let acked = false
  const reply = call<number>(tabA, 'inc').then((count) => { acked = true; return count })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(acked, false, 'held back')
  await admin.del(lease)
  t.equal(await reply, 1)
  // Given back just after the reply went out.
  for (let i = 0; i < 100 && await admin.exists(lease) === 1; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(await admin.exists(lease), 0, 'given back after the event')
})

t.test('a lease that cannot be had within storeTimeout: the event does not run and is answered SESSION_SAVE_FAILED', async (t) => {
  const { tabA, lease, logs, cookie, a } = await sharedSession(t, { plugin: { storeTimeout: 200 } })
  await admin.set(lease, 'another node', 'PX', 10_000)
  t.match(await call(tabA, 'inc-route'), { error: { code: 'SESSION_SAVE_FAILED' } }, 'a route\'s reply')
  const listenerTold = next(tabA, 'session:error')
  tabA.emit('inc', () => t.fail('a listener that did not run acks nothing'))
  t.match(await listenerTold, { error: { code: 'SESSION_SAVE_FAILED' } }, 'a listener\'s socket gets the session error event')
  t.ok(logs.some((line) => line.err?.code === 'FST_SIO_SESSION_LEASE_BUSY' && /could not take the lease/.test(line.msg)), 'logged')
  await admin.del(lease)
  t.equal((await a.http('GET', '/session', cookie)).count, undefined, 'nothing ran')
  t.equal(await call(tabA, 'inc-route'), 1, 'the next event takes the lease')
})

t.test('a session that disappears from Redis while an event waits for the lease: its sockets are ended', async (t) => {
  const { tabA, tabB, lease, key } = await sharedSession(t)
  await admin.set(lease, 'another node', 'PX', 10_000)
  const endedA = next(tabA, 'session:error')
  const endedB = next(tabB, 'session:error')
  const reply = call(tabA, 'inc-route')
  await new Promise((resolve) => setTimeout(resolve, 50))
  await admin.del(key, lease)
  t.match(await reply, { error: { code: 'SESSION_SAVE_FAILED' } })
  t.match(await endedA, { error: { code: 'SESSION_DESTROYED' } })
  t.match(await endedB, { error: { code: 'SESSION_DESTROYED' } }, 'on the other node too')
})

t.test('a socket that leaves while its event waits: the event does not run, and the lease is given back', async (t) => {
  const { tabA, lease, a, b, cookie } = await sharedSession(t)
  await admin.set(lease, 'another node', 'PX', 10_000)
  // The event waits for the lease (node A has asked for it and found it busy); then its socket leaves.
  const original = a.app.redis.evalsha.bind(a.app.redis)
  let tried = (): void => {}
  const asked = new Promise<void>((resolve) => { tried = resolve })
  ;(a.app.redis as any).evalsha = async (sha: string, ...rest: unknown[]) => {
    const reply = await original(sha, ...rest as [number])
    if (sha === ACQUIRE.sha) tried()
    return reply
  }
  t.teardown(() => { (a.app.redis as any).evalsha = original })
  tabA.emit('inc-route', () => t.fail('no reply after leaving'))
  await asked
  tabA.disconnect()
  for (let i = 0; i < 500 && a.app.io.of('/').sockets.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(a.app.io.of('/').sockets.size, 0, 'node A saw the socket leave')
  await admin.del(lease)
  const other = await b.connected({ extraHeaders: { cookie } })
  t.equal(await call(other, 'inc-route'), 1, 'the event of the socket that left never ran')
  t.equal((await a.http('GET', '/session', cookie)).count, 1)
})

t.test('more events than may wait: the rest are answered at once', async (t) => {
  const { tabA, lease } = await sharedSession(t)
  await admin.set(lease, 'another node', 'PX', 10_000)
  const replies = Array.from({ length: 1001 }, async () => await call<any>(tabA, 'inc-route'))
  const last = await replies[1000]
  t.match(last, { error: { code: 'SESSION_SAVE_FAILED' } }, 'the 1001st')
  await admin.del(lease)
  const counts = (await Promise.all(replies.slice(0, 1000))).sort((x, y) => x - y)
  t.same([counts[0], counts[999]], [1, 1000], 'the thousand that waited ran, each once')
})

t.test('counting the holders fails (Redis down at the handshake): logged, and the session is taken as shared', async (t) => {
  const { logs, logger } = captureLogs('warn')
  const a = await startApp(t, { redis: redis.url, setup: routes, fastify: { logger }, plugin: { requireSession: true, storeTimeout: 300 } })
  const cookie = await a.login()
  // The handshake's read goes through; the next script (the count) finds no script and no Redis.
  await admin.script('FLUSH')
  const original = a.app.redis.evalsha.bind(a.app.redis)
  ;(a.app.redis as any).evalsha = async () => { throw new Error('redis down') }
  t.teardown(() => { (a.app.redis as any).evalsha = original })
  const socket = await a.connected({ extraHeaders: { cookie } })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(logs.some((line) => /could not count the nodes that hold a session/.test(line.msg)), 'logged')
  ;(a.app.redis as any).evalsha = original
  t.equal(await call(socket, 'inc-route'), 1, 'events run, under the lease')
})

t.test('the store fails to give the lease (not busy, not gone): the event runs without it, and that is logged', async (t) => {
  const { a, tabA, logs } = await sharedSession(t)
  const redisClient = a.app.redis as any
  const original = redisClient.evalsha.bind(redisClient)
  redisClient.evalsha = async (sha: string, ...rest: unknown[]) => {
    if (sha === ACQUIRE.sha) throw new Error('redis failed')
    return await original(sha, ...rest)
  }
  t.teardown(() => { redisClient.evalsha = original })
  t.equal(await call(tabA, 'inc-route'), 1)
  t.equal(await call(tabA, 'inc'), 2, 'a listener too')
  t.ok(logs.some((line) => /the event runs without it/.test(line.msg) && /redis failed/.test(String(line.err?.message))), 'logged')
})

t.test('while this node holds the lease, an event runs at once; one sent without an ack gives it back too', async (t) => {
  const { tabA, lease, key } = await sharedSession(t)
  const slow = call(tabA, 'slow')
  for (let i = 0; i < 100 && await admin.exists(lease) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(await admin.exists(lease), 1, 'the slow event holds the lease')
  t.equal(await call(tabA, 'inc-route'), 1, 'another event runs while the slow one waits')
  release()
  t.equal(await slow, 'slow')
  tabA.emit('inc-route')
  // It ran (the store holds its count) and the lease was given back.
  const done = async () => await admin.hget(key, 'count') === '2' && await admin.exists(lease) === 0
  for (let i = 0; i < 500 && !await done(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(await done(), 'an event without an ack ran and gave the lease back')
})
