import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import socketio from 'fastify-socket.io'
import socketSession, { RedisStore } from 'fastify-socket.io-session'
import fastifyRedis from '@fastify/redis'
import { createAdapter } from '@socket.io/redis-adapter'
import { Type } from 'typebox'

const DEV_SECRET = 'dev secret: set SESSION_SECRET outside development'

/** What a Socket.IO client may send as its handshake query. */
const Query = Type.Object({
  room: Type.String({ default: 'lobby', minLength: 1, maxLength: 32 })
})

/**
 * Builds the example app (not listening); `opts` are Fastify server options. With a Redis URL (`REDIS_URL`),
 * sessions live in Redis and Socket.IO uses the Redis adapter, so that several nodes share them.
 */
export async function build (opts = {}, { redisUrl = process.env.REDIS_URL } = {}) {
  const secret = process.env.SESSION_SECRET ?? DEV_SECRET
  if (secret === DEV_SECRET && process.env.NODE_ENV === 'production') {
    throw new Error('set SESSION_SECRET (32 or more characters) in production')
  }

  const app = Fastify(opts)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body)))
  })
  await app.register(cookie)
  let store
  let adapter
  if (redisUrl) {
    await app.register(fastifyRedis, { url: redisUrl })
    store = new RedisStore({ client: app.redis })
    // The adapter needs a client of its own for subscribing; both close with the app.
    const pub = app.redis.duplicate()
    const sub = app.redis.duplicate()
    app.addHook('onClose', async () => { await Promise.allSettled([pub.quit(), sub.quit()]) })
    adapter = createAdapter(pub, sub)
  }
  await app.register(session, { secret, store, cookie: { secure: 'auto', maxAge: 24 * 3600 * 1000 }, saveUninitialized: false })
  await app.register(socketio, adapter ? { adapter } : {})
  await app.register(socketSession, { requireSession: true, query: Query })

  app.get('/', async (request, reply) => {
    const { user, count } = request.session
    reply.type('text/html; charset=utf-8')
    return user ? counterPage(user, count ?? 0) : loginPage()
  })

  app.post('/login', async (request, reply) => {
    const name = String(request.body?.name ?? '').trim()
    if (name.length < 1 || name.length > 32) {
      return reply.code(400).type('text/html; charset=utf-8').send(loginPage('Enter a name of 1 to 32 characters.'))
    }
    await request.session.regenerate()
    request.session.user = name
    return reply.redirect('/', 303)
  })

  app.post('/logout', async (request, reply) => {
    await request.session.destroy()
    return reply.redirect('/', 303)
  })

  app.io.on('connection', (socket) => {
    socket.join(socket.data.query.room)
    socket.emit('count', socket.session.count ?? 0)
    socket.on('increment', (ack) => {
      socket.session.count = (socket.session.count ?? 0) + 1
      if (typeof ack === 'function') ack(socket.session.count)
    })
  })

  return app
}

// ---- Pages ----

function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page (body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Session counter</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
  form { display: inline; }
  input, button { font: inherit; padding: .3rem .7rem; }
  .count { font-size: 3rem; font-weight: 600; margin: .5rem 0; }
  .error { color: #b00020; }
  .state { color: #666; font-size: .9rem; }
</style>
</head>
<body>
${body}
</body>
</html>
`
}

function loginPage (error) {
  return page(`<h1>Log in</h1>
${error ? `<p class="error">${escapeHtml(error)}</p>\n` : ''}<form method="post" action="/login">
  <label>Name <input name="name" required maxlength="32" autofocus></label>
  <button type="submit">Log in</button>
</form>`)
}

function counterPage (user, count) {
  return page(`<h1>Hello, ${escapeHtml(user)}</h1>
<p class="count" id="count">${Number(count)}</p>
<button id="increment" disabled>+1</button>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
<p class="state" id="state">connecting…</p>
<script src="/socket.io/socket.io.js"></script>
<script>
  const count = document.getElementById('count')
  const state = document.getElementById('state')
  const increment = document.getElementById('increment')
  const socket = io({ query: { room: 'lobby' } })

  socket.on('connect', () => {
    state.textContent = 'connected'
    increment.disabled = false
  })
  socket.on('disconnect', (reason) => {
    if (!state.dataset.ended) state.textContent = 'disconnected: ' + reason
    increment.disabled = true
  })
  // Logout or login in another tab, or expiry: the server says why, then disconnects.
  socket.on('session:error', (error) => {
    if (error.code !== 'SESSION_DESTROYED' && error.code !== 'SESSION_EXPIRED') return
    state.dataset.ended = 'yes'
    state.textContent = error.message + ' - log in again'
  })
  socket.on('connect_error', (err) => {
    state.textContent = 'connection error: ' + err.message
  })
  socket.on('count', (value) => {
    count.textContent = value
  })
  increment.addEventListener('click', () => {
    increment.disabled = true
    socket.timeout(5000).emit('increment', (err, value) => {
      if (!err) count.textContent = value
      increment.disabled = !socket.connected
    })
  })
</script>`)
}
