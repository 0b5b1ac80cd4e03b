import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import socketio from 'fastify-socket.io'
import socketSession, { RedisStore } from 'fastify-socket.io-session'
import fastifyRedis from '@fastify/redis'
import { Redis } from 'ioredis'
import { createAdapter } from '@socket.io/redis-adapter'
import { Type } from 'typebox'
import { announcing, chat, memoryHistory, redisHistory, requireUser } from './chat.js'
import { chatPage, loginPage } from './pages.js'

const DEV_SECRET = 'dev secret: set SESSION_SECRET outside development'

/** What a Socket.IO client may send as its handshake query. */
export const Query = Type.Object({
  room: Type.String({ default: 'lobby', pattern: '^[a-z0-9-]{1,32}$' })
})

/** The browser's files, read once. */
const files = {
  'chat.js': ['text/javascript; charset=utf-8', readFileSync(new URL('./public/chat.js', import.meta.url))],
  'style.css': ['text/css; charset=utf-8', readFileSync(new URL('./public/style.css', import.meta.url))]
}

/** Pages run only the app's own scripts and styles, and connect only to their own origin. */
const CSP = "default-src 'self'; connect-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/**
 * Closes a Redis client: quit() lets the commands in flight finish; with Redis down it would wait about a
 * minute for the commands queued meanwhile, so a client still open after a second is disconnected.
 */
async function closeClient (client) {
  let timer
  await Promise.race([client.quit().catch(() => {}), new Promise((resolve) => { timer = setTimeout(resolve, 1000) })])
  clearTimeout(timer)
  client.disconnect()
}

/** Resolves once `client` answers PING; rejects with one clear sentence after `ms` (ioredis retries forever). */
async function reachable (client, url, ms = 3000) {
  let timer
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis is not reachable at ${url} (start redis-server, or set REDIS_URL)`)), ms)
  })
  try {
    await Promise.race([client.ping(), late])
  } finally {
    clearTimeout(timer)
  }
}

/** What the login page says for the `error` query parameter (after a refused login, reloadable). */
const LOGIN_ERRORS = { name: 'Enter a name of 1 to 32 characters.' }

/**
 * Builds the example app (not listening); `opts` are Fastify server options. With a Redis URL (`REDIS_URL`),
 * sessions live in Redis and Socket.IO uses the Redis adapter, so that several nodes share them, and so does the
 * chat history; `store` replaces the session store (tests read what it holds). `nodeName` (`NODE_NAME`) is shown
 * in the page's header, to tell the nodes of a cluster apart.
 */
export async function build (opts = {}, { redisUrl = process.env.REDIS_URL, store, nodeName = process.env.NODE_NAME } = {}) {
  const secret = process.env.SESSION_SECRET ?? DEV_SECRET
  if (secret === DEV_SECRET && process.env.NODE_ENV === 'production') {
    throw new Error('set SESSION_SECRET (32 or more characters) in production')
  }

  const app = Fastify(opts)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body)))
  })
  await app.register(cookie)
  let adapter
  let history = memoryHistory()
  if (redisUrl) {
    // One client for sessions and history, two for the adapter (it subscribes).
    const redis = new Redis(redisUrl)
    // Until Redis answers, its clients' connection errors say the same as the one below: not logged.
    let up = false
    redis.on('error', (err) => { if (up) app.log.warn({ err }, 'redis') })
    try {
      await reachable(redis, redisUrl)
    } catch (err) {
      redis.disconnect()
      throw err
    }
    up = true
    const pub = redis.duplicate()
    const sub = redis.duplicate()
    for (const client of [pub, sub]) client.on('error', (err) => app.log.warn({ err }, 'redis'))
    app.addHook('onClose', async () => {
      // Presence lists asked of the other nodes when the sockets left finish first (their requests use these clients).
      await Promise.allSettled([...announcing.get(app) ?? []])
      await Promise.all([redis, pub, sub].map(closeClient))
    })
    await app.register(fastifyRedis, { client: redis })
    store ??= new RedisStore({ client: app.redis })
    adapter = createAdapter(pub, sub)
    history = redisHistory(redis)
  }
  await app.register(session, { secret, store, cookie: { secure: 'auto', sameSite: 'lax', maxAge: 24 * 3600 * 1000 }, saveUninitialized: false })
  await app.register(socketio, adapter ? { adapter } : {})
  await app.register(socketSession, {
    requireSession: true,
    query: Query,
    events: { preHandler: requireUser, rateLimit: { max: 20, timeWindow: 1000 } },
    // The AsyncAPI document of the events below, at /asyncapi.json.
    asyncapi: {
      info: { title: 'Example chat', version: '1.0.0', description: 'The Socket.IO events of the example app: a chat, and a counter kept in the session.' },
      path: '/asyncapi.json'
    }
  })
  chat(app, history)

  const html = (reply, body, code = 200) => reply.code(code).type('text/html; charset=utf-8').header('content-security-policy', CSP).send(body)

  app.get('/', async (request, reply) => {
    const { user, count } = request.session
    return user ? html(reply, chatPage(user, count ?? 0, 'lobby', nodeName)) : html(reply, loginPage(LOGIN_ERRORS[request.query.error]))
  })

  // The form posts here; a reload or a bookmark of this address lands on the page.
  app.get('/login', async (_request, reply) => reply.redirect('/', 303))

  app.get('/static/:file', async (request, reply) => {
    const file = files[request.params.file]
    if (file === undefined) return reply.code(404).send({ error: 'not found' })
    return reply.type(file[0]).header('cache-control', 'no-cache').send(file[1])
  })

  app.post('/login', async (request, reply) => {
    const name = String(request.body?.name ?? '').trim()
    // Refused: back to the page with the reason in its address, so that a reload shows the form again.
    if (name.length < 1 || name.length > 32) return reply.redirect('/?error=name', 303)
    // A new session id at login: the sockets of the old one (if any) are ended by the plugin.
    await request.session.regenerate()
    request.session.user = name
    return reply.redirect('/', 303)
  })

  app.post('/logout', async (request, reply) => {
    await request.session.destroy()
    return reply.redirect('/', 303)
  })

  return app
}
