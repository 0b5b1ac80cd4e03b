import t from 'tap'
import { startRedis } from './redis-server.js'
import { startApp, call, next, sessionIdOf, captureLogs } from './helpers.js'

// ---- Redis gone, stalled, corrupt; many connections: the process stays up and leaves nothing behind ----

const redis = await startRedis(t)
const rejections: unknown[] = []
process.on('unhandledRejection', (err) => rejections.push(err))

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('inc', (ack: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack(socket.session.count) })
  })
}

t.test('Redis killed mid-run: handshakes refused with SESSION_STORE_ERROR, saves reported, all recovers when it returns', async (t) => {
  const { logs, logger } = captureLogs('warn')
  const { login, connected, http } = await startApp(t, {
    redis: redis.url,
    redisStore: { timeout: 300 },
    plugin: { requireSession: true },
    fastify: { logger },
    setup: handlers
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'inc'), 1)

  await redis.kill()
  const refused = await connected({ extraHeaders: { cookie } }).catch((err) => err)
  t.same(refused.data, { code: 'SESSION_STORE_ERROR', message: 'session store unavailable, retry later' })
  const errors: any[] = []
  socket.on('session:error', (e) => errors.push(e.code))
  t.equal(await call(socket, 'inc'), 2, 'the ack still arrives')
  t.same(errors, ['SESSION_SAVE_FAILED'], 'and the client was told the save failed')
  t.ok(logs.some((l) => l.msg === 'fastify-socket.io-session: session save failed' && l.err?.code === 'FST_SIO_SESSION_STORE' &&
    /did not answer within 300 ms/.test(l.err.message)), 'the timed-out save is logged')

  await redis.start()
  const back = await connected({ extraHeaders: { cookie } }).catch((err) => err)
  for (let i = 0; back.data !== undefined && i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const again = back.connected === true ? back : await connected({ extraHeaders: { cookie } })
  t.ok(again.connected, 'handshakes work again')
  t.equal(await call(socket, 'inc'), 3, 'the failed change was kept and is saved with the next one')
  t.equal((await http('GET', '/session', cookie)).count, 3, 'HTTP reads it from Redis')
  t.same(rejections.map(String), [], 'no unhandled rejection')
})

t.test('corrupt JSON in a session key: refused and logged, the process stays up', async (t) => {
  const { logs, logger } = captureLogs('error')
  const { login, connected, url } = await startApp(t, {
    redis: redis.url,
    plugin: { requireSession: true },
    fastify: { logger },
    setup: handlers
  })
  const cookie = await login()
  const id = sessionIdOf(cookie)
  await redis.client().hset(`sess:${id}`, 'user', '{oops')
  const refused = await connected({ extraHeaders: { cookie } }).catch((err) => err)
  t.equal(refused.data?.code, 'SESSION_STORE_ERROR')
  t.ok(logs.some((l) => l.err?.code === 'FST_SIO_SESSION_STORE' && /key "user" is not JSON/.test(l.err.message)), 'logged, naming the key')
  const response = await fetch(url + '/session', { headers: { cookie } })
  t.equal(response.status, 500, 'HTTP fails the same way')
  t.same(rejections.map(String), [])
})

t.test('1,000 connect/disconnect cycles leave no keys, timers, rooms or listeners behind', async (t) => {
  const { app, login, client } = await startApp(t, { redis: redis.url, plugin: { requireSession: true }, setup: handlers })
  const cookies = [await login({ user: 'ada' }), await login({ user: 'bob' })]
  const admin = redis.client()
  const census = async () => ({
    keys: await admin.dbsize(),
    timers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
    rooms: app.io.of('/').adapter.rooms.size,
    sockets: app.io.of('/').sockets.size,
    namespaceListeners: app.io.of('/').eventNames().map((e) => app.io.of('/').listenerCount(e)),
    engineListeners: app.io.engine.eventNames().map((e) => app.io.engine.listenerCount(e))
  })
  const before = await census()
  for (let i = 0; i < 1000; i += 10) {
    await Promise.all(Array.from({ length: 10 }, async (_, j) => {
      const socket = client({ extraHeaders: { cookie: cookies[j % 2] } })
      await new Promise((resolve, reject) => { socket.once('connect', resolve as () => void); socket.once('connect_error', reject); socket.connect() })
      if (j % 3 === 0) await call(socket, 'inc')
      const gone = next(socket, 'disconnect')
      socket.disconnect()
      await gone
    }))
  }
  for (let i = 0; app.io.of('/').sockets.size > 0 && i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  const after = await census()
  t.ok(after.timers <= before.timers, `no timer left behind (${before.timers} before, ${after.timers} after)`)
  t.same({ ...after, timers: 0 }, { ...before, timers: 0 })
  t.same(rejections.map(String), [])
})
