import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import socketio from 'fastify-socket.io'
import { Redis } from 'ioredis'
import { createAdapter } from '@socket.io/redis-adapter'
import socketSession, { RedisStore } from '../dist/index.js'

// ---- One node of the multi-node load test (bench/nodes.js): node bench/node-server.js <name> ----
// Sessions in RedisStore, Socket.IO on the Redis adapter, as the README wires them. Asked over IPC for its memory.

const SECRET = 'a benchmark secret that is longer than thirty-two characters'
const name = process.argv[2]

const app = Fastify()
const redis = new Redis(process.env.REDIS_URL, { connectionName: `${name}-store` })
const pub = new Redis(process.env.REDIS_URL, { connectionName: `${name}-pub` })
const sub = pub.duplicate({ connectionName: `${name}-sub` })
// The adapter unsubscribes after the clients quit at close: nothing to report.
for (const client of [redis, pub, sub]) client.on('error', () => {})
await app.register(cookie)
await app.register(session, { secret: SECRET, store: new RedisStore({ client: redis }), cookie: { secure: false, maxAge: 3600_000 }, saveUninitialized: false })
await app.register(socketio, { adapter: createAdapter(pub, sub) })
await app.register(socketSession, { requireSession: true })

/** `views++`: the change whose lost updates the test counts. */
app.io.event('inc', (socket) => {
  socket.session.views = (socket.session.views ?? 0) + 1
  return socket.session.views
})
app.io.event('get', (socket) => socket.session.views ?? 0)

app.post('/login', async (request) => {
  request.session.user = 'bench'
  request.session.views = 0
  request.session.http = 0
  return { ok: true }
})
/** An HTTP `views++` racing the sockets' events (the same key), and a count of its own. */
app.post('/http', async (request) => {
  request.session.http = (request.session.http ?? 0) + 1
  request.session.views = (request.session.views ?? 0) + 1
  return { http: request.session.http, views: request.session.views }
})
app.get('/session', async (request) => ({ views: request.session.views ?? null, http: request.session.http ?? null }))
// A logout holds no sockets (as the README advises with RedisStore): its destroy ends them, on every node, one round of messages sooner.
app.post('/logout', { config: { holdSockets: false } }, async (request) => {
  await request.session.destroy()
  return { ok: true }
})

app.addHook('preClose', (done) => {
  app.io.engine.close()
  done()
})
app.addHook('onClose', async () => { await Promise.all([redis, pub, sub].map(async (client) => await client.quit())) })

await app.listen({ host: '127.0.0.1', port: 0 })
process.send({ port: app.server.address().port })
process.on('message', async (message) => {
  if (message.cmd === 'memory') {
    globalThis.gc?.()
    const { rss, heapUsed, external } = process.memoryUsage()
    process.send({ id: message.id, memory: { rss, heapUsed, external, sockets: app.io.of('/').sockets.size } })
  } else if (message.cmd === 'close') {
    await app.close()
    process.exit(0)
  }
})
