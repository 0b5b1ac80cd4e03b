import t from 'tap'
import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import socketio from 'fastify-socket.io'
import fastifyRedis from '@fastify/redis'
import { createAdapter } from '@socket.io/redis-adapter'
import { io as connectClient } from 'socket.io-client'
import { Redis } from 'ioredis'
import socketSession, { RedisStore } from '../plugin/index.js'
import { startRedis } from './redis-server.js'
import { SECRET, next } from './helpers.js'

// ---- The README's multi-node wiring closes promptly with Redis down ----

const redis = await startRedis(t)
const rejections: unknown[] = []
process.on('unhandledRejection', (err) => rejections.push(err))

/** A node wired exactly as the README's "Redis and many nodes" section shows. */
async function node (): Promise<{ app: any, url: string }> {
  const app = Fastify()
  const redisClient = new Redis(redis.url)
  const pub = redisClient.duplicate()
  const sub = redisClient.duplicate()
  for (const client of [redisClient, pub, sub]) client.on('error', (err) => app.log.warn({ err }, 'redis'))
  const close = async (client: Redis): Promise<void> => {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([client.quit().catch(() => {}), new Promise((resolve) => { timer = setTimeout(resolve, 1000) })])
    clearTimeout(timer)
    client.disconnect()
  }
  app.addHook('onClose', async () => { await Promise.all([redisClient, pub, sub].map(close)) })
  await app.register(cookie)
  await app.register(fastifyRedis.default, { client: redisClient })
  await app.register(session, {
    secret: SECRET,
    store: new RedisStore({ client: app.redis }),
    cookie: { secure: 'auto', maxAge: 24 * 3600 * 1000 }
  })
  await app.register(socketio.default, { adapter: createAdapter(pub, sub) })
  await app.register(socketSession, { requireSession: false })
  app.post('/login', async (request) => {
    request.session.set('user' as never, 'ada' as never)
    return { ok: true }
  })
  app.io.on('connection', (socket: any) => {
    socket.on('inc', (ack: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack(socket.session.count) })
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

t.test('with Redis killed, close() returns within a few seconds and leaves no unhandled rejection', async (t) => {
  const nodes = [await node(), await node()]
  const response = await fetch(`${nodes[0].url}/login`, { method: 'POST' })
  const cookieHeader = (response.headers.get('set-cookie') ?? '').split(';')[0]
  const clients = nodes.map(({ url }) => connectClient(url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: cookieHeader } }))
  t.teardown(() => { for (const client of clients) client.disconnect() })
  await Promise.all(clients.map(async (client) => await next(client, 'connect')))
  await redis.kill()
  // A socket event while Redis is down: the session is held on both nodes, so the event first asks for the lease,
  // which fails after the store's timeout (2 s); it then runs, and its save fails after the timeout again.
  t.equal(await clients[1].timeout(10_000).emitWithAck('inc'), 1)
  const started = Date.now()
  await Promise.all(nodes.map(async ({ app }) => await app.close()))
  const took = Date.now() - started
  t.ok(took < 5000, `both nodes closed in ${took} ms`)
  // Late rejections (commands queued while Redis was down) surface on the next turns of the loop.
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(rejections.map(String), [], 'no unhandled rejection')
  await redis.start()
})
