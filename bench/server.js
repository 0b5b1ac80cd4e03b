import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session, { MemoryStore } from '@fastify/session'
import socketio from 'fastify-socket.io'
import { Redis } from 'ioredis'
import ConnectRedis from 'connect-redis'
import { Type } from 'typebox'
import socketSession, { RedisStore } from '../dist/index.js'

// ---- One benchmark server in its own process: node --expose-gc bench/server.js <variant> ----

const SECRET = 'a benchmark secret that is longer than thirty-two characters'

/** A memory store that counts its writes. */
class CountingStore extends MemoryStore {
  writes = 0

  set (id, data, callback) {
    this.writes++
    super.set(id, data, callback)
  }
}

/** An ioredis client that counts the commands it sends (the session store's round trips). */
function countingRedis () {
  const client = new Redis(process.env.REDIS_URL)
  const send = client.sendCommand.bind(client)
  client.commands = 0
  client.sendCommand = (command, stream) => {
    client.commands++
    return send(command, stream)
  }
  return client
}

/** fastify-socket.io 4 does not disconnect clients on close; do it before the HTTP server stops. */
function closeClientsOnClose (app) {
  app.addHook('preClose', (done) => {
    app.io.engine.close()
    done()
  })
}

/** Cookie + session with the counting store, and a login route that puts a user in the session. */
async function registerSession (app, store) {
  await app.register(cookie)
  await app.register(session, { secret: SECRET, cookie: { secure: false }, store })
  app.post('/login', async (request) => {
    request.session.user = 'bench'
    if (process.env.BENCH_CART) request.session.cart = Array.from({ length: Number(process.env.BENCH_CART) }, (_, i) => ({ sku: `sku-${i}`, name: `item ${i}`, qty: i % 5 + 1 }))
    return { ok: true }
  })
  // A page that reads the session, as most routes do (@fastify/session saves it again: `rolling`).
  app.get('/page', async (request) => ({ user: request.session.user }))
}

const variants = {
  /** Socket.IO alone, no session. */
  async bare (app) {
    await app.register(socketio)
    closeClientsOnClose(app)
    app.post('/login', async () => ({ ok: true }))
    app.get('/page', async () => ({ user: 'bench' }))
    app.io.on('connection', (socket) => {
      let count = 0
      socket.on('read', (ack) => ack('bench'))
      socket.on('write', (ack) => ack(++count))
    })
  },

  /** The hand-written recipe: decrypt the session in a middleware, save it by hand. */
  async recipe (app, store) {
    await registerSession(app, store)
    await app.register(socketio)
    closeClientsOnClose(app)
    app.io.use((socket, next) => {
      const cookies = app.parseCookie(socket.handshake.headers.cookie ?? '')
      const holder = {}
      app.decryptSession(cookies.sessionId ?? '', holder, (err) => {
        socket.data.session = holder.session
        next(err)
      })
    })
    app.io.on('connection', (socket) => {
      const session = socket.data.session
      socket.on('read', (ack) => ack(session.user))
      socket.on('write', async (ack) => {
        session.count = (session.count ?? 0) + 1
        await session.save()
        ack(session.count)
      })
    })
  },

  /** The recipe on connect-redis (plain GET and SET of the whole session as JSON). */
  async 'recipe-redis' (app, store) {
    await variants.recipe(app, store)
  },

  /** The plugin on its RedisStore (EVALSHA of a merge-save). */
  async 'plugin-redis' (app, store) {
    await variants.plugin(app, store)
  },

  /**
   * This plugin: handlers change socket.session and autosave writes it. `message` is the same small-object
   * event twice: an event route (payload and ack checked by their schemas) and a plain socket.on listener.
   */
  async plugin (app, store) {
    await registerSession(app, store)
    await app.register(socketio)
    await app.register(socketSession, {})
    app.io.on('connection', (socket) => {
      socket.on('read', (ack) => ack(socket.session.user))
      socket.on('write', (ack) => {
        socket.session.count = (socket.session.count ?? 0) + 1
        ack(socket.session.count)
      })
      socket.on('plain', (message, ack) => ack({ user: socket.session.user, length: message.text.length }))
    })
    const Message = Type.Object({ room: Type.String({ maxLength: 64 }), text: Type.String({ maxLength: 2000 }) })
    const Reply = Type.Object({ user: Type.String(), length: Type.Number() })
    app.io.event('routed', { schema: { payload: Message, ack: Reply } }, (socket, message) => ({ user: socket.session.user, length: message.text.length }))
  }
}

/** Heap plus external memory after full collections. */
function memory () {
  global.gc()
  global.gc()
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

/** Store writes (Redis commands for the Redis variants), connected clients and (when asked) memory. */
function stats (app, store, withMemory, redis) {
  return {
    writes: redis?.commands ?? store?.writes ?? 0,
    /** CPU time of the server process so far, µs (user + system). */
    cpu: process.cpuUsage().user + process.cpuUsage().system,
    sockets: app.io.engine.clientsCount,
    memory: withMemory ? memory() : undefined
  }
}

async function main () {
  const variant = process.argv[2]
  const setup = variants[variant]
  if (setup === undefined) throw new Error(`unknown variant "${variant}"; use one of ${Object.keys(variants).join(', ')}`)
  const app = Fastify({ logger: false })
  const redis = variant.endsWith('-redis') ? countingRedis() : undefined
  const store = variant === 'bare'
    ? undefined
    : variant === 'recipe-redis'
      ? new ConnectRedis({ client: redis, prefix: 'recipe:' })
      : variant === 'plugin-redis' ? new RedisStore({ client: redis, prefix: 'plugin:' }) : new CountingStore()
  await setup(app, store)
  if (redis) app.addHook('onClose', async () => { await redis.quit() })
  await app.listen({ host: '127.0.0.1', port: 0 })

  let closing = false
  const close = async () => {
    if (closing) return
    closing = true
    await app.close()
    if (process.connected) process.disconnect()
  }
  process.on('message', (message) => {
    if (message.cmd === 'stats') process.send({ id: message.id, stats: stats(app, store, message.memory, redis) })
    else if (message.cmd === 'close') void close()
  })
  // The parent went away: stop too.
  process.once('disconnect', () => void close())
  process.send({ port: app.server.address().port })
}

await main()
