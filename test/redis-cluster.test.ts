import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { createShardedAdapter } from '@socket.io/redis-adapter'
import { RedisStore } from '../plugin/index.js'
import { startRedisCluster } from './redis-cluster.js'
import { call, hears, next, sessionIdOf, startApp, type TestApp } from './helpers.js'

// ---- A Redis Cluster of three masters: RedisStore on it, and Socket.IO on the sharded adapter ----

const cluster = await startRedisCluster(t)

const routes = (app: FastifyInstance): void => {
  app.io.event('inc', (socket) => {
    const s = socket.session as any
    s.count = (s.count ?? 0) + 1
    return s.count
  })
  app.io.event('get', (socket) => (socket.session as any).cart ?? null)
  app.io.on('connection', (socket) => {
    socket.on('logout', async (ack: (v: unknown) => void) => { await socket.session.destroy(); ack('bye') })
  })
}

/** A node: sessions in RedisStore on an ioredis Cluster client, Socket.IO on the sharded adapter (Redis 7 sharded Pub/Sub). */
async function node (t: Parameters<typeof startApp>[0]): Promise<TestApp> {
  const client = cluster.client()
  const pub = cluster.client()
  const sub = cluster.client({ shardedSubscribers: true })
  return await startApp(t, {
    session: { store: new RedisStore({ client }) },
    io: { adapter: createShardedAdapter(pub, sub) },
    plugin: { requireSession: true },
    setup: routes
  })
}

/** Two nodes that heard of each other. */
async function twoNodes (t: Parameters<typeof startApp>[0]): Promise<[TestApp, TestApp]> {
  const a = await node(t)
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', resolve))
  const b = await node(t)
  await hello
  return [a, b]
}

/** The Cluster slot of a key, as a node computes it. */
async function slotOf (key: string): Promise<number> {
  const admin = new Redis({ port: cluster.ports[0], host: '127.0.0.1' })
  try {
    return await admin.cluster('KEYSLOT', key) as number
  } finally {
    admin.disconnect()
  }
}

t.test('sessions spread over the slots of three masters: handshakes, saves, HTTP writes and logouts work across two nodes', async (t) => {
  const [a, b] = await twoNodes(t)
  const cookies = await Promise.all(Array.from({ length: 12 }, async (_, i) => await a.login({ user: `user-${i}` })))
  const slots = new Set(await Promise.all(cookies.map(async (cookie) => await slotOf(`sess:${sessionIdOf(cookie)}`))))
  t.ok(slots.size > 6, `the sessions' keys fall in ${slots.size} different slots`)
  // Both nodes' stores batch their commands; keys of many slots in one turn of the event loop still work.
  const sockets = await Promise.all(cookies.map(async (cookie) => await b.connected({ extraHeaders: { cookie } })))
  t.same(await Promise.all(sockets.map(async (socket) => await call(socket, 'inc'))), cookies.map(() => 1), 'a save of each session')
  await a.http('POST', '/set', cookies[0], { cart: ['book'] })
  t.same(await call(sockets[0], 'get'), ['book'], 'an HTTP write on A is seen by the socket on B')
  const ended = next(sockets[1], 'disconnect')
  await a.http('POST', '/logout', cookies[1])
  t.equal(await ended, 'io server disconnect', 'a logout on A ends the socket on B')
  t.match(await b.connected({ extraHeaders: { cookie: cookies[1] } }).catch((err: any) => err.data), { code: 'SESSION_REQUIRED' }, 'and the session is gone')
})

t.test('every key of a session is in its slot: the session, its lease, its holders', async (t) => {
  const [a, b] = await twoNodes(t)
  const cookie = await a.login()
  const key = `sess:${sessionIdOf(cookie)}`
  const tabA = await a.connected({ extraHeaders: { cookie } })
  const shared = hears(a.app, 'shared')
  const tabB = await b.connected({ extraHeaders: { cookie } })
  await shared
  t.same(new Set([await slotOf(key), await slotOf(`{${key}}:lease`), await slotOf(`{${key}}:nodes`)]).size, 1)
  const acks = await Promise.all([
    ...Array.from({ length: 50 }, async () => await call<number>(tabA, 'inc')),
    ...Array.from({ length: 50 }, async () => await call<number>(tabB, 'inc'))
  ])
  t.same([...acks].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1), 'two nodes, 50 increments each: 100, under the lease')
  t.equal((await a.http('GET', '/session', cookie)).count, 100)
  const endedB = next(tabB, 'disconnect')
  t.equal(await call(tabA, 'logout'), 'bye')
  t.equal(await endedB, 'io server disconnect', 'a logout over a socket on A ends B\'s (sharded Pub/Sub)')
})
