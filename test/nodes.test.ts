import t, { type Test } from 'tap'

type Tap = Test
import type { FastifyInstance } from 'fastify'
import { startRedis } from './redis-server.js'
import { startApp, call, hears, next, type AppOptions, type TestApp, sessionIdOf } from './helpers.js'

// ---- Two nodes sharing Redis (sessions) and the Redis adapter (Socket.IO) ----

const redis = await startRedis(t)
const admin = redis.client()

const routes = (app: FastifyInstance): void => {
  app.io.on('connection', (socket) => {
    const s = socket.session as any
    socket.on('get', (key: string, ack: (v: unknown) => void) => ack(s[key] ?? null))
    socket.on('inc', (ack: (v: unknown) => void) => { s.count = (s.count ?? 0) + 1; ack(s.count) })
    socket.on('logout', async (ack: (v: unknown) => void) => { await s.destroy(); ack('bye') })
  })
  app.io.event('inc-route', async (socket) => {
    const s = socket.session as any
    s.count = (s.count ?? 0) + 1
    return s.count
  })
  app.post('/forget-cart', async (request) => {
    delete (request.session as any).cart
    return { ok: true }
  })
  app.post('/relogin', async (request) => {
    await request.session.regenerate()
    request.session.set('user' as never, 'ada (again)' as never)
    return { ok: true }
  })
}

/** Two nodes, A and B, on one Redis. */
async function nodes (t: Tap, options: AppOptions = {}): Promise<[TestApp, TestApp]> {
  const opts = { redis: redis.url, plugin: { requireSession: true, ...options.plugin }, setup: routes, ...options }
  const a = await startApp(t, opts)
  // B's hello (A's own hello, said twice, may get B's 'here' first).
  const hello = hears(a.app, 'hello')
  // With the app's Redis store, B's first entry on the stream too: A's waiting read is answered and sent again.
  const up = options.session?.store === undefined ? hears(a.app, 'up') : undefined
  const b = await startApp(t, opts)
  await Promise.all([hello, up])
  // And both nodes' stream readers are waiting (B's first read goes out once its connection is up).
  if (up !== undefined) await readersWaiting()
  return [a, b]
}

/** Resolves once both nodes' stream readers are blocked in a read: each has read every entry so far. */
const readersWaiting = async (): Promise<boolean> => await waitFor(async () => ((await admin.client('LIST')) as string).split('\n').filter((line) => / flags=b .*cmd=xread/.test(line)).length >= 2)

/** Resolves when `node` hears from the other node that a session changed. */
const told = async (node: TestApp) => await hears(node.app, 'changed')

/** Polls `check` until it is true (at most 2 s). */
async function waitFor (check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

/** A client of `node` with this cookie, connected. */
const on = async (node: TestApp, cookie: string) => await node.connected({ extraHeaders: { cookie } })

t.test('an HTTP write on node A is seen by a socket on node B in its next event', async (t) => {
  const [a, b] = await nodes(t)
  const cookie = await a.login({ user: 'ada' })
  const socket = await on(b, cookie)
  t.equal(await call(socket, 'get', 'cart'), null)
  let heard = told(b)
  await a.http('POST', '/set', cookie, { cart: ['book'] })
  await heard
  t.same(await call(socket, 'get', 'cart'), ['book'], 'the event waited for the session to be read again')
  heard = told(b)
  await a.http('POST', '/set', cookie, { cart: ['book', 'pen'] })
  await heard
  t.same(await call(socket, 'get', 'cart'), ['book', 'pen'], 'and the next one')
  heard = told(b)
  await a.http('POST', '/forget-cart', cookie)
  await heard
  t.equal(await call(socket, 'get', 'cart'), null, 'a key deleted over HTTP is gone too')
})

t.test('two tabs of one session on two nodes: increments taking turns are exact', async (t) => {
  const [a, b] = await nodes(t)
  const cookie = await a.login()
  const tabs = [await on(a, cookie), await on(b, cookie)]
  for (let i = 1; i <= 20; i++) {
    // The other node hears of each save (one Redis message); its next event then sees the count.
    const heard = told(i % 2 === 0 ? b : a)
    t.equal(await call(tabs[i % 2], 'inc'), i)
    await heard
  }
  t.equal((await a.http('GET', '/session', cookie)).count, 20, 'HTTP sees the total')
})

/** Resolves when `node` hears that another node holds a session it holds too. */
const sharedOn = async (node: TestApp) => await hears(node.app, 'shared')

for (const [name, event] of [['listeners', 'inc'], ['a route', 'inc-route']]) {
  t.test(`two tabs of one session on two nodes, 50 concurrent increments each (${name}): exactly 100, in the store and in the acks`, async (t) => {
    const [a, b] = await nodes(t)
    const cookie = await a.login()
    const tabA = await on(a, cookie)
    const shared = sharedOn(a)
    const tabB = await on(b, cookie)
    await shared
    const acks = await Promise.all([
      ...Array.from({ length: 50 }, async () => await call<number>(tabA, event)),
      ...Array.from({ length: 50 }, async () => await call<number>(tabB, event))
    ])
    t.same([...acks].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1), 'every ack a different count, 1 to 100')
    t.equal((await a.http('GET', '/session', cookie)).count, 100, 'the store holds 100')
    t.equal(await call(tabA, 'get', 'count'), 100, 'A sees 100')
    t.equal(await call(tabB, 'get', 'count'), 100, 'B sees 100')
  })
}

t.test('a session held on one node of two pays nothing per event for the lease, and its saves send no message: one command when it becomes live, one when it is no longer', async (t) => {
  const [a, b] = await nodes(t, { plugin: { requireSession: true, revalidateInterval: 60_000 } })
  // The login's write is announced (no node holds the session yet, but HTTP writes always are): B reads it first.
  const heard = told(b)
  const cookie = await a.login()
  await heard
  await readersWaiting()
  await redis.resetCommands()
  const socket = await on(a, cookie)
  t.ok(await waitFor(async () => (await redis.commands()).evalsha === 1), 'counting this node among the holders')
  t.same(await redis.commands(), { hgetall: 1, evalsha: 1 }, 'the handshake\'s read, and that')
  await redis.resetCommands()
  for (let i = 1; i <= 10; i++) t.equal(await call(socket, 'inc'), i)
  // The first save adds a key: a check that the session was there follows it (SETTLE), as on one node.
  t.same(await redis.commands(), { hset: 10, evalsha: 1 }, 'a save per changing event, and no message: no other node holds the session')
  await redis.resetCommands()
  const left = new Promise((resolve) => a.app.io.of('/').sockets.values().next().value?.once('disconnect', resolve))
  socket.disconnect()
  await left
  await t.resolveMatch(waitFor(async () => (await redis.commands()).evalsha === 1), true, 'the node leaves the holders')
})

t.test('logout on node A ends the sockets of the session on A and B within 200 ms', async (t) => {
  const [a, b] = await nodes(t)
  const cookie = await a.login()
  const sockets = [await on(a, cookie), await on(a, cookie), await on(b, cookie), await on(b, cookie)]
  const other = await on(b, await a.login({ user: 'bob' }))
  const ended = sockets.map(async (socket) => {
    const told = next(socket, 'session:error')
    const reason = await next(socket, 'disconnect')
    return { ...(await told), reason, at: Date.now() }
  })
  const start = Date.now()
  t.same(await a.http('POST', '/logout', cookie), { ok: true })
  for (const end of await Promise.all(ended)) {
    t.equal(end.code, 'SESSION_DESTROYED')
    t.equal(end.reason, 'io server disconnect', 'a server-side disconnect: no automatic reconnect')
    t.ok(end.at - start < 200, `ended ${end.at - start} ms after the logout request`)
  }
  t.equal(await call(other, 'inc'), 1, 'another session is untouched')
  for (const node of [a, b]) {
    const refused = await on(node, cookie).catch((err) => err)
    t.equal(refused.data?.code, 'SESSION_REQUIRED', 'a reconnect with the old cookie is refused')
  }
})

t.test('login again (regenerate) on node A ends the old session\'s sockets on B; the new cookie gets the new session', async (t) => {
  const [a, b] = await nodes(t)
  const cookie = await a.login({ user: 'ada' })
  const old = await on(b, cookie)
  const told = next(old, 'session:error')
  const response = await fetch(`${a.url}/relogin`, { method: 'POST', headers: { cookie } })
  const fresh = (response.headers.get('set-cookie') ?? '').split(';')[0]
  t.not(fresh, cookie)
  t.equal((await told).code, 'SESSION_DESTROYED')
  t.equal(await call(await on(b, fresh), 'get', 'user'), 'ada (again)')
  t.equal((await on(a, cookie).catch((err) => err)).data?.code, 'SESSION_REQUIRED')
})

t.test('a socket save never resurrects a session destroyed on another node', async (t) => {
  const [a, b] = await nodes(t, { plugin: { requireSession: true, revalidateInterval: 60_000 } })
  const cookie = await a.login()
  const socket = await on(b, cookie)
  // The key vanishes without a message (as if it had been lost): B still holds the session.
  const id = sessionIdOf(cookie)
  const client = redis.client()
  await client.set(`sess:${id}`, '0', 'PX', 10_000)
  const errors: any[] = []
  socket.on('session:error', (e) => errors.push(e))
  const ended = next(socket, 'disconnect')
  t.equal(await call(socket, 'inc'), 1, 'the ack still arrives')
  t.equal(await ended, 'io server disconnect', 'then the socket is ended, as at a logout')
  t.same(errors.map((e) => e.code), ['SESSION_SAVE_FAILED', 'SESSION_DESTROYED'], 'the client is told the save failed, then why it ends')
  t.equal(await client.type(`sess:${id}`), 'string', 'still a tombstone, not a session')
})

t.test('a lost message: revalidation ends a socket whose session is gone', async (t) => {
  const [, b] = await nodes(t, { plugin: { requireSession: true, revalidateInterval: 300, checkInterval: 50 } })
  const cookie = await b.login()
  const socket = await on(b, cookie)
  const id = sessionIdOf(cookie)
  const told = next(socket, 'session:error')
  const start = Date.now()
  await redis.client().del(`sess:${id}`)
  t.equal((await told).code, 'SESSION_DESTROYED')
  t.ok(Date.now() - start < 1000, `ended within ${Date.now() - start} ms`)
})

t.test('revalidation: a session held on two nodes is read by each every other interval, so it costs what a session held on one does', async (t) => {
  const [a, b] = await nodes(t, { plugin: { requireSession: true, revalidateInterval: 200, checkInterval: 25 } })
  const alone = await a.login()
  const both = await a.login()
  await on(a, alone)
  await on(a, both)
  const shared = sharedOn(a)
  await on(b, both)
  await shared
  await redis.resetCommands()
  const reads = async (cookie: string): Promise<number> => (await redis.commandsByKey())[`hgetall sess:${sessionIdOf(cookie)}`] ?? 0
  t.ok(await waitFor(async () => await reads(alone) >= 6), 'the session held on A alone is read again every interval')
  const twice = await reads(both)
  // Read every interval on each node, it would have been read about 12 times by now.
  t.ok(twice >= 3 && twice <= await reads(alone) + 2, `the session held on both nodes: ${twice} reads, as many as the other's (${await reads(alone)})`)
})

t.test('commands on two nodes for a session held on both: each event takes the lease (two scripts); a changing one saves and tells the other node, which reads it again', async (t) => {
  const [a, b] = await nodes(t, { plugin: { requireSession: true, revalidateInterval: 60_000 } })
  const cookie = await a.login()
  const socket = await on(a, cookie)
  const shared = sharedOn(a)
  const tab = await on(b, cookie)
  await shared
  const first = told(b)
  t.equal(await call(socket, 'inc'), 1)
  await first
  t.equal(await call(tab, 'get', 'count'), 1)
  await redis.resetCommands()
  for (let i = 2; i <= 11; i++) {
    const heard = told(b)
    t.equal(await call(socket, 'inc'), i)
    await heard
    t.equal(await call(tab, 'get', 'count'), i, 'B\'s next event sees the count')
  }
  const counts = await redis.commands()
  t.comment(`commands for 10 changing events on A, each followed by a read-only event on B: ${JSON.stringify(counts)}`)
  t.equal(counts.xadd, 10, 'a message per save, on the stream (XADD)')
  t.ok(counts.xread <= 20, `each node's waiting read answered and sent again, once per message at most: ${counts.xread}`)
  t.equal(counts.hset, 10, 'a save per changing event on A')
  t.ok(counts.evalsha >= 40, `the lease taken and given back for each of the 20 events (a busy lease is tried again): ${counts.evalsha}`)
  t.ok((counts.hgetall ?? 0) <= 20, `B reads it again after a message (its lease reads it too): ${counts.hgetall}`)
  t.same(Object.keys(counts).filter((name) => !['hgetall', 'hset', 'xadd', 'xread', 'evalsha'].includes(name)), [])
  await redis.resetCommands()
  for (let i = 0; i < 10; i++) await call(socket, 'get', 'count')
  t.same(await redis.commands(), { evalsha: 20 }, 'a read-only event takes the lease and gives it back')
})

t.test('expiry: an idle session\'s sockets on both nodes are ended at expiry', async (t) => {
  const [a, b] = await nodes(t, {
    session: { rolling: false, cookie: { secure: false, maxAge: 700 } },
    plugin: { requireSession: true, checkInterval: 100 }
  })
  const cookie = await a.login()
  const id = sessionIdOf(cookie)
  const stored = JSON.parse(await redis.client().hget(`sess:${id}`, 'cookie') as string)
  const sockets = [await on(a, cookie), await on(b, cookie)]
  const ended = await Promise.all(sockets.map(async (socket) => {
    const told = await next(socket, 'session:error')
    return { code: told.code, late: Date.now() - new Date(stored.expires).getTime() }
  }))
  for (const end of ended) {
    t.equal(end.code, 'SESSION_EXPIRED')
    t.ok(end.late >= 0 && end.late < 250, `ended ${end.late} ms after the expiry`)
  }
  t.equal(await redis.client().exists(`sess:${id}`), 0, 'Redis dropped the key with its TTL')
})

t.test('a logout over a socket on node A ends the session\'s sockets on node B too', async (t) => {
  const [a, b] = await nodes(t)
  const cookie = await a.login()
  const here = await on(a, cookie)
  const there = await on(b, cookie)
  const told = next(there, 'session:error')
  const reason = next(there, 'disconnect')
  t.equal(await call(here, 'logout'), 'bye', 'the ack of the logout event arrives')
  t.equal((await told).code, 'SESSION_DESTROYED')
  t.equal(await reason, 'io server disconnect')
  t.equal((await on(b, cookie).catch((err) => err)).data?.code, 'SESSION_REQUIRED')
})

t.test('two nodes whose stores use node-redis: HTTP writes, socket changes and logout cross them, on the stream', async (t) => {
  await admin.del('{sess:}:messages')
  const opts = async (): Promise<AppOptions> => ({ redis: redis.url, redisStore: { client: await redis.nodeClient() }, plugin: { requireSession: true }, setup: routes })
  const a = await startApp(t, await opts())
  const heardOfB = Promise.all([hears(a.app, 'hello'), hears(a.app, 'up')])
  const b = await startApp(t, await opts())
  await t.resolves(heardOfB, 'node A heard of node B: its hello over the adapter, and its entry on the stream')
  const cookie = await a.login({ user: 'ada' })
  const here = await on(a, cookie)
  const there = await on(b, cookie)
  let heard = told(b)
  await a.http('POST', '/set', cookie, { cart: ['book'] })
  await heard
  t.same(await call(there, 'get', 'cart'), ['book'], 'node B reads what node A wrote over HTTP')
  heard = told(a)
  t.equal(await call(there, 'inc'), 1, 'a change on node B is saved')
  await heard
  t.equal(await call(here, 'inc'), 2, 'and seen by node A')
  t.same(await b.http('GET', '/session', cookie), { user: 'ada', cart: ['book'], count: 2 }, 'HTTP on node B sees both')
  const ended = next(there, 'session:error')
  t.same(await a.http('POST', '/logout', cookie), { ok: true })
  t.equal((await ended).code, 'SESSION_DESTROYED', 'a logout on node A ends the socket on node B')
  t.equal((await on(b, cookie).catch((err) => err)).data?.code, 'SESSION_REQUIRED')
  const kinds = (await admin.xrange('{sess:}:messages', '-', '+')).map(([, fields]) => JSON.parse(fields[3])[0])
  t.ok(kinds.includes('up') && kinds.includes('changed') && kinds.includes('gone'), `the messages went on the stream: ${kinds.join(', ')}`)
})
