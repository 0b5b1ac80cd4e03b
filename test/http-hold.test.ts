import t, { type Test } from 'tap'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { startRedis } from './redis-server.js'
import { PEER_EVENT } from '../plugin/cluster/peers.js'
import { sessionKey } from '../plugin/session/registry.js'
import { call, captureLogs, hears, sessionIdOf, startApp, type AppOptions, type TestApp } from './helpers.js'

// ---- An HTTP request and the socket events of its session take turns, on one node and across nodes ----

const redis = await startRedis(t)
const admin = redis.client()

/** Lets the running `slow` listener finish. */
let finishSlow = (): void => {}
/** Resolves when a `slow` listener started. */
let slowStarted: Promise<void> = Promise.resolve()
let startedSlow = (): void => {}
const armSlow = (): void => { slowStarted = new Promise((resolve) => { startedSlow = resolve }) }

const setup = (app: FastifyInstance): void => {
  app.io.on('connection', (socket) => {
    const s = socket.session as any
    socket.on('inc', (ack: (v: unknown) => void) => { s.count = (s.count ?? 0) + 1; ack(s.count) })
    socket.on('get', (key: string, ack: (v: unknown) => void) => ack(s[key] ?? null))
    // Waits until the test lets it go, then runs `change`.
    socket.on('slow', async (change: 'delete-cart' | 'logout' | 'inc', ack: (v: unknown) => void) => {
      startedSlow()
      await new Promise<void>((resolve) => { finishSlow = resolve })
      if (change === 'delete-cart') delete s.cart
      else if (change === 'logout') await s.destroy()
      else s.count = (s.count ?? 0) + 1
      ack('done')
    })
  })
  app.post('/inc', async (request) => {
    const s = request.session as any
    // A little time between the read and the write, as a real handler takes.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
    s.count = (s.count ?? 0) + 1
    return { count: s.count }
  })
  const data = (request: FastifyRequest): Record<string, unknown> => {
    const { cookie, ...rest } = request.session as any
    return rest
  }
  // GET does not hold the sockets unless its route says so; POST does unless its route says not.
  app.get('/held-session', { config: { holdSockets: true } }, async (request) => data(request))
  app.post('/read', async (request) => data(request))
  app.post('/unheld', { config: { holdSockets: false } }, async (request) => data(request))
  app.post('/slow-inc', async (request) => {
    const s = request.session as any
    await new Promise((resolve) => setTimeout(resolve, 600))
    s.count = (s.count ?? 0) + 1
    return { count: s.count }
  })
}

/** Two nodes on one Redis; A logs warnings the test reads. */
async function twoNodes (t: Test, plugin: AppOptions['plugin'] = {}) {
  const { logs, logger } = captureLogs('warn')
  const opts: AppOptions = { redis: redis.url, setup, plugin: { requireSession: true, ...plugin } }
  const a = await startApp(t, { ...opts, fastify: { logger } })
  const hello = hears(a.app, 'hello')
  const b = await startApp(t, opts)
  await hello
  return { a, b, logs }
}

/** Waits (1 s at most) until `until` holds for the number of nodes that hold the session of `cookie`; resolves to that number. */
async function holders (cookie: string, until: (count: number) => boolean): Promise<number> {
  const nodes = `{sess:${sessionIdOf(cookie)}}:nodes`
  let count = await admin.scard(nodes)
  for (let i = 0; i < 200 && !until(count); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5))
    count = await admin.scard(nodes)
  }
  return count
}

/** A socket of `cookie` on `node`, once the node is counted among the session's holders (Redis stores only). */
async function holder (node: TestApp, cookie: string, counted = true) {
  const socket = await node.connected({ extraHeaders: { cookie } })
  if (counted) await holders(cookie, (count) => count > 0)
  return socket
}

/** 50 HTTP increments one after another on `http`, racing 50 concurrent socket increments: every count once, 1 to 100. */
async function race (t: Test, http: TestApp, socket: Awaited<ReturnType<TestApp['connected']>>, cookie: string) {
  const [fromHttp, fromSocket] = await Promise.all([
    (async () => {
      const counts: number[] = []
      for (let i = 0; i < 50; i++) counts.push((await http.http('POST', '/inc', cookie)).count as number)
      return counts
    })(),
    Promise.all(Array.from({ length: 50 }, async () => await call<number>(socket, 'inc')))
  ])
  t.same([...fromHttp, ...fromSocket].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1), 'every count once, 1 to 100')
  t.equal((await http.http('GET', '/session', cookie)).count, 100, 'the store holds 100')
  t.equal(await call(socket, 'inc'), 101, 'the socket sees 100, and counts on')
}

t.test('one node: HTTP increments racing socket increments of the same session are exact', async (t) => {
  const a = await startApp(t, { setup, plugin: { requireSession: true } })
  const cookie = await a.login()
  await race(t, a, await holder(a, cookie, false), cookie)
})

t.test('two nodes: HTTP increments on node A racing socket increments on node B are exact', async (t) => {
  const { a, b } = await twoNodes(t)
  const cookie = await a.login()
  await race(t, a, await holder(b, cookie), cookie)
})

t.test('two nodes, the session held on both: HTTP on A racing sockets on A and B is exact', async (t) => {
  const { a, b } = await twoNodes(t)
  const cookie = await a.login()
  const tabA = await holder(a, cookie)
  const shared = hears(a.app, 'shared')
  const tabB = await holder(b, cookie)
  await shared
  const [fromHttp, fromA, fromB] = await Promise.all([
    (async () => {
      const counts: number[] = []
      for (let i = 0; i < 30; i++) counts.push((await a.http('POST', '/inc', cookie)).count as number)
      return counts
    })(),
    Promise.all(Array.from({ length: 30 }, async () => await call<number>(tabA, 'inc'))),
    Promise.all(Array.from({ length: 30 }, async () => await call<number>(tabB, 'inc')))
  ])
  t.same([...fromHttp, ...fromA, ...fromB].sort((x, y) => x - y), Array.from({ length: 90 }, (_, i) => i + 1), 'every count once, 1 to 90')
})

for (const [where, two] of [['on the same node', false], ['on another node', true]] as const) {
  t.test(`a request waits for a running socket event ${where}, and reads what it wrote (a key deleted)`, async (t) => {
    const { a, b } = await twoNodes(t)
    const cookie = await a.login({ cart: ['book'] })
    const socket = await holder(two ? b : a, cookie)
    armSlow()
    const slow = call(socket, 'slow', 'delete-cart')
    await slowStarted
    const reading = a.http('GET', '/held-session', cookie)
    let read = false
    void reading.then(() => { read = true })
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal(read, false, 'the request waits while the event runs')
    finishSlow()
    t.equal(await slow, 'done')
    const session = await reading
    t.equal(session.cart, undefined, 'the request sees the key the event deleted')
    t.equal(session.user, 'ada')
  })
}

t.test('GET requests, and routes whose config says holdSockets: false, do not wait for the socket events', async (t) => {
  const { a, b } = await twoNodes(t)
  const cookie = await a.login()
  for (const node of [a, b]) {
    const socket = await holder(node, cookie)
    armSlow()
    let finished = false
    const slow = call(socket, 'slow', 'inc').finally(() => { finished = true })
    await slowStarted
    t.equal((await a.http('GET', '/session', cookie)).user, 'ada')
    t.equal(finished, false, 'a GET answers while the event runs')
    t.equal((await a.http('POST', '/unheld', cookie)).user, 'ada')
    t.equal(finished, false, 'so does a route that says not to hold')
    finishSlow()
    t.equal(await slow, 'done')
    socket.disconnect()
    await holders(cookie, (count) => count === 0)
  }
})

t.test('a request whose client left while it waited lets the socket events go on at once', async (t) => {
  const a = await startApp(t, { setup, plugin: { requireSession: true } })
  const cookie = await a.login()
  const socket = await holder(a, cookie, false)
  armSlow()
  const slow = call(socket, 'slow', 'inc')
  await slowStarted
  const controller = new AbortController()
  const request = fetch(a.url + '/read', { method: 'POST', headers: { cookie }, signal: controller.signal }).catch((err: Error) => err.name)
  await new Promise((resolve) => setTimeout(resolve, 50))
  controller.abort()
  t.equal(await request, 'AbortError')
  await new Promise((resolve) => setTimeout(resolve, 50))
  finishSlow()
  t.equal(await slow, 'done')
  const started = Date.now()
  t.equal(await call(socket, 'inc'), 2)
  t.ok(Date.now() - started < 1000, 'the next event did not wait for the 10 s bound')
})

t.test('a request that waited while a socket event destroyed the session runs with what it read; its save finds the session gone', async (t) => {
  const a = await startApp(t, { redis: redis.url, setup, plugin: { requireSession: true } })
  const cookie = await a.login()
  const socket = await holder(a, cookie)
  armSlow()
  const slow = call(socket, 'slow', 'logout')
  await slowStarted
  const response = fetch(a.url + '/inc', { method: 'POST', headers: { cookie } })
  await new Promise((resolve) => setTimeout(resolve, 30))
  finishSlow()
  t.equal(await slow, 'done')
  t.equal((await response).status, 410, 'the save of a destroyed session is refused (410)')
  t.same(await a.http('GET', '/session', cookie), {}, 'nothing brought it back')
})

t.test('two requests at once of a session held here both run, and the socket events wait for both', async (t) => {
  const a = await startApp(t, { setup, plugin: { requireSession: true } })
  const cookie = await a.login()
  const socket = await holder(a, cookie, false)
  const slow = a.http('POST', '/slow-inc', cookie)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const [quick, inc] = await Promise.all([a.http('POST', '/read', cookie), call<number>(socket, 'inc'), slow])
  t.equal(quick.count, undefined, 'the second request did not wait for the first')
  t.equal(inc, 2, 'the socket event ran after both: it saw the slow request\'s write (and the quick one wrote none)')
})

t.test('a node listed as a holder that does not answer: the request waits storeTimeout, then runs (logged); a node that answers is waited for', async (t) => {
  const { a, b, logs } = await twoNodes(t, { storeTimeout: 300 })
  const cookie = await a.login()
  const socket = await holder(b, cookie)
  await admin.sadd(`{sess:${sessionIdOf(cookie)}}:nodes`, 'gone-node')
  const started = Date.now()
  t.equal((await a.http('POST', '/inc', cookie)).count, 1)
  t.ok(Date.now() - started >= 290, 'the request waited for the silent node')
  const warning = logs.find((line) => /did not stop within storeTimeout/.test(line.msg))
  t.same((warning as any)?.nodes, ['gone-node'], 'the silent node is named, not the one that answered')
  t.equal(await call(socket, 'inc'), 2, 'B\'s events went on after the request')
  const nodes = `{sess:${sessionIdOf(cookie)}}:nodes`
  t.notOk(await admin.sismember(nodes, 'gone-node'), 'the silent node was taken off the session\'s holders')
  t.equal(await admin.scard(nodes), 1, 'B stays')
  const again = Date.now()
  t.equal((await a.http('POST', '/inc', cookie)).count, 3)
  t.ok(Date.now() - again < 250, 'the next request does not wait for it')
})

t.test('a socket event longer than storeTimeout: the request runs alongside it after storeTimeout (logged), on this node and on another', async (t) => {
  const { a, b, logs } = await twoNodes(t, { storeTimeout: 200 })
  const cookie = await a.login()
  for (const [node, two] of [[a, false], [b, true]] as const) {
    const socket = await holder(node, cookie)
    armSlow()
    const slow = call(socket, 'slow', 'inc')
    await slowStarted
    const before = logs.length
    // The request outlasts the wait: a late answer from B is not waited for any more.
    const request = a.http('POST', '/slow-inc', cookie)
    await new Promise((resolve) => setTimeout(resolve, 400))
    finishSlow()
    t.equal(await slow, 'done')
    await request
    t.ok(logs.slice(before).some((line) => /did not stop within storeTimeout/.test(line.msg)), 'logged')
    t.equal(typeof await call(socket, 'inc'), 'number', 'the socket\'s events go on')
    if (two) {
      // B did not answer in time: A took it off the holders, and B, alive, counted itself again.
      t.equal(await holders(cookie, (count) => count > 0), 1, 'B holds the session again')
    }
    socket.disconnect()
    // The next round starts once the node left the session's holders.
    await holders(cookie, (count) => count === 0)
  }
})

for (const [where, two] of [['this node', false], ['another node', true]] as const) {
  t.test(`a request that ends before ${where} stopped its events: they go on once they stopped`, async (t) => {
    const { a, b } = await twoNodes(t, { storeTimeout: 100 })
    const cookie = await a.login()
    const socket = await holder(two ? b : a, cookie)
    armSlow()
    const slow = call(socket, 'slow', 'inc')
    await slowStarted
    t.equal((await a.http('POST', '/read', cookie)).user, 'ada', 'the request ran after storeTimeout')
    finishSlow()
    t.equal(await slow, 'done')
    t.equal(await call(socket, 'inc'), 2, 'the next event runs: the gate is open')
  })
}

t.test('a node whose pause is never ended lets its events go on after 10 s', async (t) => {
  const { a, b } = await twoNodes(t)
  const cookie = await a.login()
  const socket = await holder(b, cookie)
  const [nodeB] = await admin.smembers(`{sess:${sessionIdOf(cookie)}}:nodes`)
  const paused = new Promise((resolve) => a.app.io.on(PEER_EVENT, (kind: unknown) => { if (kind === 'paused') resolve(kind) }))
  a.app.io.serverSideEmit(PEER_EVENT, 'pause', sessionKey(sessionIdOf(cookie)), 'a-token', [nodeB])
  await paused
  const started = Date.now()
  t.equal(await socket.timeout(15_000).emitWithAck('inc'), 1)
  t.ok(Date.now() - started >= 9_000, 'the event waited for the pause to run out')
})

t.test('pause messages that name nothing, or this node not, or come malformed, change nothing; a pause of a session not held here is answered at once', async (t) => {
  const { a, b } = await twoNodes(t)
  const cookie = await a.login()
  const socket = await holder(b, cookie)
  const [nodeB] = await admin.smembers(`{sess:${sessionIdOf(cookie)}}:nodes`)
  const key = sessionKey(sessionIdOf(cookie))
  const answers: unknown[][] = []
  a.app.io.on(PEER_EVENT, (...message: unknown[]) => { if (message[0] === 'paused') answers.push(message) })
  const emit = (...message: unknown[]): void => { a.app.io.serverSideEmit(PEER_EVENT, ...message) }
  emit('pause', key, 'token-1', ['another-node'])
  emit('pause', key, 42, [nodeB])
  emit('pause', 42, 'token-2', [nodeB])
  emit('pause', key, 'token-3', 'not a list')
  emit('paused', key, 'nobody-asked', nodeB)
  emit('resume', key, 'never-given')
  emit('pause', 'a-session-not-held', 'token-4', [nodeB])
  await admin.srem(`{sess:${sessionIdOf(cookie)}}:nodes`, nodeB)
  emit('rejoin', key, 'another-node')
  emit('rejoin', 'a-session-not-held', nodeB)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(await admin.scard(`{sess:${sessionIdOf(cookie)}}:nodes`), 0, 'a rejoin for another node or another session does not count B again')
  t.same(answers, [['paused', 'a-session-not-held', 'token-4', nodeB]], 'only the pause of a session B does not hold was answered')
  t.equal(await call(socket, 'inc'), 1, 'B\'s events were not held')
})
