import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session, { MemoryStore } from '@fastify/session'
import socketio from 'fastify-socket.io'
import { Redis } from 'ioredis'
import ConnectRedis from 'connect-redis'
import { RedisStore as ConnectRedis9 } from 'connect-redis-9'
import { createClient } from 'redis'
import { Type } from 'typebox'
import socketSession, { RedisStore } from '../dist/index.js'

// ---- One benchmark server in its own process: node --expose-gc bench/server.js <variant> ----
// A variant ending in -cart is the same server with a cart of BENCH_CART items (default 100) put in the session at login.

const SECRET = 'a benchmark secret that is longer than thirty-two characters'

/** A memory store that counts its writes. */
class CountingStore extends MemoryStore {
  writes = 0

  set (id, data, callback) {
    this.writes++
    super.set(id, data, callback)
  }
}

const CART = '-cart'

/** The variant's server and whether its sessions get a cart. */
function parseVariant (variant) {
  const cart = variant.endsWith(CART)
  return { base: cart ? variant.slice(0, -CART.length) : variant, cart }
}

/** One cart line: about 100 bytes of JSON. */
const cartItem = (i) => ({ sku: `SKU-${String(i).padStart(5, '0')}`, name: `Product ${i}, blue`, price: 1999 + i, qty: i % 5 + 1, options: { size: 'M', gift: false } })

/** A cart of `items` lines (100 lines: about 10 KB of JSON). */
const cart = (items) => Array.from({ length: items }, (_, i) => cartItem(i))

/** Counts in `client.commands` the calls of `sender.sendCommand`, which every command of the client goes through. */
function countCommands (client, sender = client) {
  const send = sender.sendCommand.bind(sender)
  client.commands = 0
  sender.sendCommand = (...args) => {
    client.commands++
    return send(...args)
  }
  return client
}

/** Closes a node-redis client (close) or an ioredis one (quit). */
const closeRedis = async (client) => { await (typeof client.close === 'function' ? client.close() : client.quit()) }

/** An ioredis client that counts the commands it sends (the session store's round trips), named after the variant. */
const countingRedis = (name) => countCommands(new Redis(process.env.REDIS_URL, { connectionName: name }))

/** A node-redis client (what connect-redis 9 takes) that counts the commands it sends, named after the variant. */
async function countingNodeRedis (name) {
  const client = createClient({ url: process.env.REDIS_URL, name })
  // createClient answers an Object.create() of the client, whose commands call sendCommand on the client itself.
  countCommands(client, client._self)
  await client.connect()
  return client
}

/** fastify-socket.io 4 does not disconnect clients on close; do it before the HTTP server stops. */
function closeClientsOnClose (app) {
  app.addHook('preClose', (done) => {
    app.io.engine.close()
    done()
  })
}

/**
 * Cookie + session with the counting store, and a login route that puts a user (and on the -cart servers a cart)
 * in the session and answers with the session's size as JSON.
 */
async function registerSession (app, store, items) {
  await app.register(cookie)
  await app.register(session, { secret: SECRET, cookie: { secure: false }, store })
  app.post('/login', async (request) => {
    request.session.user = 'bench'
    if (items > 0) request.session.cart = cart(items)
    return { ok: true, bytes: Buffer.byteLength(JSON.stringify(request.session)) }
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
  async recipe (app, store, items) {
    await registerSession(app, store, items)
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

  /** The recipe on connect-redis 7 with ioredis (plain GET and SET of the whole session as JSON). */
  async 'recipe-redis' (app, store, items) {
    await variants.recipe(app, store, items)
  },

  /** The recipe on connect-redis 9 with node-redis 5, what connect-redis documents today (GET and SET too). */
  async 'recipe-node-redis' (app, store, items) {
    await variants.recipe(app, store, items)
  },

  /** The plugin on its RedisStore (EVALSHA of a merge-save). */
  async 'plugin-redis' (app, store, items) {
    await variants.plugin(app, store, items)
  },

  /** The plugin on its RedisStore over node-redis 5, the client connect-redis 9 takes. */
  async 'plugin-node-redis' (app, store, items) {
    await variants.plugin(app, store, items)
  },

  /**
   * This plugin: handlers change socket.session and autosave writes it. `message` is the same small-object
   * event twice: an event route (payload and ack checked by their schemas) and a plain socket.on listener.
   */
  async plugin (app, store, items) {
    await registerSession(app, store, items)
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
    memory: withMemory ? memory() : undefined,
    /** The process's resident set size, bytes. */
    rss: process.memoryUsage().rss
  }
}

/** Each server's session store (and Redis client, counting its commands). */
const stores = {
  bare: () => ({}),
  recipe: () => ({ store: new CountingStore() }),
  plugin: () => ({ store: new CountingStore() }),
  'recipe-redis' (variant) {
    const redis = countingRedis(variant)
    return { redis, store: new ConnectRedis({ client: redis, prefix: `${variant}:` }) }
  },
  async 'recipe-node-redis' (variant) {
    const redis = await countingNodeRedis(variant)
    return { redis, store: new ConnectRedis9({ client: redis, prefix: `${variant}:` }) }
  },
  'plugin-redis' (variant) {
    const redis = countingRedis(variant)
    return { redis, store: new RedisStore({ client: redis, prefix: `${variant}:` }) }
  },
  async 'plugin-node-redis' (variant) {
    const redis = await countingNodeRedis(variant)
    return { redis, store: new RedisStore({ client: redis, prefix: `${variant}:` }) }
  }
}

async function main () {
  const variant = process.argv[2]
  const { base, cart: withCart } = parseVariant(variant)
  const setup = variants[base]
  if (setup === undefined || (withCart && base === 'bare')) throw new Error(`unknown variant "${variant}"; use one of ${Object.keys(variants).join(', ')}, and -cart after any but bare`)
  const app = Fastify({ logger: false })
  const { redis, store } = await stores[base](variant)
  await setup(app, store, withCart ? Number(process.env.BENCH_CART ?? 100) : 0)
  if (redis) app.addHook('onClose', async () => { await closeRedis(redis) })
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
