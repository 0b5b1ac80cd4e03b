import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { startRedis } from './redis-server.js'
import { call, hears, next, sessionIdOf, startApp, type AppOptions, type TestApp } from './helpers.js'

// ---- Two nodes on the Redis Streams adapter: messages kept in a stream, and connection-state recovery across nodes ----

const redis = await startRedis(t)
const admin = redis.client()

const setup = (app: FastifyInstance): void => {
  app.io.on('connection', (socket) => {
    const s = socket.session as any
    socket.join('news')
    // A broadcast gives the client an offset, which Socket.IO needs to recover the socket later.
    app.io.to(socket.id).emit('welcome')
    socket.on('get', (key: string, ack: (v: unknown) => void) => ack(s[key] ?? null))
    socket.on('inc', (ack: (v: unknown) => void) => { s.count = (s.count ?? 0) + 1; ack(s.count) })
    socket.on('whoami', (ack: (v: unknown) => void) => ack({ user: s.user ?? null, recovered: socket.recovered }))
  })
  app.post('/inc', async (request) => {
    const s = request.session as any
    s.count = (s.count ?? 0) + 1
    return { count: s.count }
  })
}

/** A node on the Streams adapter. */
async function node (t: Test): Promise<TestApp> {
  const client = new Redis(redis.url)
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  const options: AppOptions = {
    redis: redis.url,
    setup,
    plugin: { requireSession: true },
    io: { adapter: createAdapter(client, { blockTimeInMs: 1000 }) as never, connectionStateRecovery: { maxDisconnectionDuration: 60_000 } }
  }
  return await startApp(t, options)
}

async function twoNodes (t: Test): Promise<[TestApp, TestApp]> {
  const a = await node(t)
  const hello = hears(a.app, 'hello')
  const b = await node(t)
  await hello
  return [a, b]
}

/** A connected client of `cookie` on `on`, that reconnects by itself, once it got its welcome broadcast. */
async function client (on: TestApp, cookie: string) {
  const socket = await on.connected({ extraHeaders: { cookie }, reconnection: true, reconnectionDelay: 100 })
  if ((socket as any)._lastOffset === undefined) await next(socket, 'welcome')
  return socket
}

t.test('Streams adapter: HTTP writes, logout, increments on two nodes and HTTP racing sockets cross the nodes', async (t) => {
  const [a, b] = await twoNodes(t)
  const cookie = await a.login()
  const tabA = await client(a, cookie)
  const shared = hears(a.app, 'shared')
  const tabB = await client(b, cookie)
  await shared
  const acks = await Promise.all([
    ...Array.from({ length: 30 }, async () => await call<number>(tabA, 'inc')),
    ...Array.from({ length: 30 }, async () => await call<number>(tabB, 'inc')),
    (async () => { for (let i = 0; i < 20; i++) await a.http('POST', '/inc', cookie) })()
  ])
  t.equal((await a.http('GET', '/session', cookie)).count, 80, '30 + 30 socket increments on two nodes and 20 over HTTP: 80')
  t.equal(acks.filter((ack) => typeof ack === 'number').length, 60)
  const changed = hears(b.app, 'changed')
  await a.http('POST', '/set', cookie, { cart: ['book'] })
  await changed
  t.same(await call(tabB, 'get', 'cart'), ['book'], 'an HTTP write on A is seen on B')
  const ended = next(tabB, 'disconnect')
  await a.http('POST', '/logout', cookie)
  t.equal(await ended, 'io server disconnect', 'a logout on A ends the socket on B')
})

t.test('Streams adapter: a socket recovered on another node gets its session and the broadcasts it missed', async (t) => {
  const [a, b] = await twoNodes(t)
  const cookie = await a.login({ user: 'ada' })
  const socket = await client(a, cookie)
  t.same(await call(socket, 'whoami'), { user: 'ada', recovered: false })
  t.equal(await call(socket, 'inc'), 1)
  // The load balancer sends the next connection to node B.
  ;(socket as any).io.uri = b.url
  const reconnected = next(socket, 'connect')
  const missed: unknown[] = []
  socket.on('news', (n: unknown) => missed.push(n))
  socket.io.engine.close()
  // While the client is away: a broadcast to its room.
  a.app.io.to('news').emit('news', 1)
  await reconnected
  t.equal(socket.recovered, true, 'Socket.IO recovered the socket on B')
  t.same(await call(socket, 'whoami'), { user: 'ada', recovered: true }, 'with its session')
  t.same(missed, [1], 'and the broadcast sent while it was away')
  t.equal(await call(socket, 'inc'), 2, 'its events save on B')
  t.equal((await a.http('GET', '/session', cookie)).count, 2)
  // A let the session go when its socket left: B alone holds it.
  const nodes = `{sess:${sessionIdOf(cookie)}}:nodes`
  for (let i = 0; i < 200 && await admin.scard(nodes) !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(await admin.scard(nodes), 1, 'one node holds the session: B')
})
