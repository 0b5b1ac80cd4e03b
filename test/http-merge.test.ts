import t from 'tap'
import { MemoryStore } from '@fastify/session'
import { startRedis } from './redis-server.js'
import { call, sessionIdOf, startApp, type AppOptions } from './helpers.js'

// ---- HTTP saves merge: concurrent requests and sockets of one session never erase each other's writes ----

const redis = await startRedis(t)

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('inc', (key: string, ack: (v: unknown) => void) => { socket.session[key] = (socket.session[key] ?? 0) + 1; ack(socket.session[key]) })
  })
  app.post('/inc/:key', async (request: any) => {
    const key = request.params.key
    await new Promise((resolve) => setImmediate(resolve))
    request.session[key] = (request.session[key] ?? 0) + 1
    return { value: request.session[key] }
  })
  // A route that reads the session, as most do, with some I/O before it answers.
  app.get('/page', async (request: any) => {
    await new Promise((resolve) => setTimeout(resolve, 2))
    return { user: request.session.user }
  })
  app.get('/hold', async (request: any) => {
    app.held = new Promise((resolve) => { app.release = resolve })
    app.loaded()
    await app.held
    return { user: request.session.user }
  })
}

/** Runs `run` `width` at a time, at least `count` times and until `done()`; resolves to how many ran. */
async function pool (count: number, width: number, done: () => boolean, run: () => Promise<unknown>): Promise<number> {
  let started = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (started < count || !done()) {
      started++
      await run()
    }
  }))
  return started
}

const stores: Array<[string, () => AppOptions]> = [
  ['memory', () => ({ session: { store: new MemoryStore() }, setup: handlers })],
  ['redis', () => ({ redis: redis.url, setup: handlers })]
]

for (const [where, options] of stores) {
  t.test(`${where}: 500 acked socket increments alongside 800 concurrent HTTP GETs are all kept, in order`, async (t) => {
    const { login, connected, http } = await startApp(t, options())
    const cookie = await login()
    const socket = await connected({ extraHeaders: { cookie } })
    const acks: number[] = []
    const sockets = (async () => {
      for (let i = 0; i < 500; i++) acks.push(await call(socket, 'inc', 'count'))
    })()
    // Every GET re-saves the session (@fastify/session's `rolling`), from the copy it loaded; they run
    // for as long as the socket's increments do.
    const gets = await pool(800, 16, () => acks.length === 500, async () => await http('GET', '/page', cookie))
    await sockets
    t.ok(gets >= 800, `${gets} GETs`)
    t.same(acks, Array.from({ length: 500 }, (_, i) => i + 1), 'the acks count 1 to 500, never backwards')
    t.equal((await http('GET', '/session', cookie)).count, 500, 'the store holds all 500')
  })

  t.test(`${where}: two HTTP clients and a socket of one session, each incrementing its own key: every count exact`, async (t) => {
    const { url, login, connected, http } = await startApp(t, options())
    const cookie = await login()
    const socket = await connected({ extraHeaders: { cookie } })
    const post = async (key: string): Promise<void> => {
      const response = await fetch(`${url}/inc/${key}`, { method: 'POST', headers: { cookie } })
      t.equal(response.status, 200)
    }
    await Promise.all([
      (async () => { for (let i = 0; i < 100; i++) await post('a') })(),
      (async () => { for (let i = 0; i < 100; i++) await post('b') })(),
      (async () => { for (let i = 0; i < 100; i++) await call(socket, 'inc', 'c') })()
    ])
    const data = await http('GET', '/session', cookie)
    t.same([data.a, data.b, data.c], [100, 100, 100])
    t.equal(await call(socket, 'inc', 'a'), 101, 'the live session took in what HTTP wrote')
  })
}

t.test('redis: a request that changed nothing writes only the cookie; one that changed a key writes that key and the cookie', async (t) => {
  const { app, url, login, http } = await startApp(t, { redis: redis.url, setup: handlers }) as any
  const cookie = await login({ cart: ['pen'] })
  const key = `sess:${sessionIdOf(cookie)}`
  const client = redis.client()
  // A value written while a GET runs, which the GET's copy lacks: a whole-session write would erase it.
  const loaded = new Promise((resolve) => { app.loaded = resolve })
  const get = fetch(`${url}/hold`, { headers: { cookie } })
  await loaded
  await client.hset(key, 'planted', '"by hand"')
  app.release()
  t.equal((await get).status, 200)
  t.equal(await client.hget(key, 'planted'), '"by hand"', 'a GET left the other keys alone')
  await http('POST', '/set', cookie, { color: 'blue' })
  t.same(await client.hgetall(key).then((hash) => Object.keys(hash).sort()), ['cart', 'color', 'cookie', 'planted', 'user'])
  t.ok(await client.pttl(key) > 0, 'the key keeps a TTL')
})

for (const [where, options] of stores) {
  t.test(`${where}: a session that vanished while a request ran is written whole, as @fastify/session would`, async (t) => {
    const opts = options()
    const { app, url, login, http } = await startApp(t, opts) as any
    const cookie = await login({ cart: ['pen'] })
    const id = sessionIdOf(cookie)
    const loaded = new Promise((resolve) => { app.loaded = resolve })
    const get = fetch(`${url}/hold`, { headers: { cookie } })
    await loaded
    if (where === 'redis') await redis.client().del(`sess:${id}`)
    else (opts.session?.store as any).store.delete(id)
    app.release()
    t.equal((await get).status, 200)
    t.same((await http('GET', '/session', cookie)).cart, ['pen'], 'the request\'s copy is stored again')
  })
}

t.test('after request.session.reload(), a save writes the whole session; the live session takes it in', async (t) => {
  const { login, connected, http } = await startApp(t, {
    setup: (app) => {
      handlers(app)
      app.post('/reload-set', async (request: any) => {
        await request.session.reload()
        request.session.color = 'green'
        return { ok: true }
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'inc', 'count'), 1)
  await http('POST', '/reload-set', cookie)
  const data = await http('GET', '/session', cookie)
  t.same([data.color, data.count], ['green', 1])
  t.equal(await call(socket, 'inc', 'count'), 2, 'the live session kept its count')
  t.equal((await http('GET', '/session', cookie)).color, 'green', 'and the whole write\'s keys')
})

t.test('redis: a whole write of a session destroyed meanwhile is answered 410, and leaves the tombstone', async (t) => {
  const { app, url, login } = await startApp(t, {
    redis: redis.url,
    setup: (app: any) => {
      app.post('/reload-late', async (request: any) => {
        await request.session.reload()
        app.loaded()
        await new Promise((resolve) => { app.release = resolve })
        request.session.late = true
        return { ok: true }
      })
    }
  }) as any
  const cookie = await login()
  const loaded = new Promise((resolve) => { app.loaded = resolve })
  const late = fetch(`${url}/reload-late`, { method: 'POST', headers: { cookie } })
  await loaded
  await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } })
  app.release()
  const response = await late
  t.equal(response.status, 410)
  t.equal(await redis.client().type(`sess:${sessionIdOf(cookie)}`), 'string')
})

t.test('an HTTP route that puts a value JSON cannot write in the session gets an error; nothing is written', async (t) => {
  const { url, login, http } = await startApp(t, {
    setup: (app: any) => {
      app.post('/bigint', async (request: any) => {
        request.session.big = 1n
        request.session.color = 'red'
        return { ok: true }
      })
    }
  })
  const cookie = await login({ color: 'blue' })
  const response = await fetch(`${url}/bigint`, { method: 'POST', headers: { cookie } })
  t.equal(response.status, 500)
  t.match(await response.json(), { code: 'FST_SIO_SESSION_UNSERIALIZABLE' })
  t.equal((await http('GET', '/session', cookie)).color, 'blue')
})
