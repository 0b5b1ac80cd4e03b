import { createHash, randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { EventError } from 'fastify-socket.io-session'

// ---- The chat over Socket.IO: messages, who is online, and a counter kept in the session ----

/** A chat message as a client sends it. */
export const Message = Type.Object({ text: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false })
/** What the sender gets back. */
export const Sent = Type.Object({ id: Type.String() })
/** A chat message as the server sends it. */
export const ChatMessage = Type.Object({ id: Type.String(), from: Type.String(), text: Type.String(), at: Type.Integer({ description: 'ms since 1970' }) })

/** Every event needs a logged-in session (a session may outlive its user only in theory; checked anyway). */
export function requireUser (socket) {
  if (typeof socket.session.user !== 'string') throw new EventError('FORBIDDEN', 'log in first')
}

/** The room of all sockets of one session (named by a hash: the session id stays in this process). */
function sessionRoom (socket) {
  return 'session:' + createHash('sha256').update(socket.session.sessionId).digest('base64url').slice(0, 22)
}

/** The announcements in progress of each app: it waits for them before closing its Redis clients. */
export const announcing = new WeakMap()

/** Tells a room who is in it: the users of its sockets, on every node (through the adapter). */
async function announce (app, room) {
  const pending = announcing.get(app) ?? new Set()
  announcing.set(app, pending)
  const run = listOnline(app, room)
  pending.add(run)
  try {
    await run
  } finally {
    pending.delete(run)
  }
}

/** Lists the users of a room's sockets on every node, and sends the list to the room. */
async function listOnline (app, room) {
  try {
    const sockets = await app.io.in(room).fetchSockets()
    const users = [...new Set(sockets.map((socket) => socket.data.user))].sort((a, b) => a.localeCompare(b))
    app.io.to(room).emit('presence', users)
  } catch (err) {
    app.log.warn({ err, room }, 'example app: could not list who is online')
  }
}

/** How many messages of a room a new tab is shown. */
export const HISTORY = 50

/** The last messages of each room, in this process (one node). */
export function memoryHistory () {
  const rooms = new Map()
  return {
    async add (room, message) {
      const kept = rooms.get(room) ?? []
      kept.push(message)
      if (kept.length > HISTORY) kept.shift()
      rooms.set(room, kept)
    },
    async last (room) { return rooms.get(room) ?? [] }
  }
}

/** The last messages of each room in a Redis list, shared by every node. */
export function redisHistory (redis) {
  const key = (room) => `chat:history:${room}`
  return {
    async add (room, message) {
      await redis.multi().rpush(key(room), JSON.stringify(message)).ltrim(key(room), -HISTORY, -1).exec()
    },
    async last (room) { return (await redis.lrange(key(room), -HISTORY, -1)).map((text) => JSON.parse(text)) }
  }
}

export function chat (app, history = memoryHistory()) {
  // What the server sends (checked against these schemas outside production).
  const events = {
    counter: app.io.serverEvent('counter', { schema: Type.Integer({ minimum: 0 }), summary: 'The session\'s counter, sent on connect and to every tab of the session when it changes', tags: ['counter'] }),
    history: app.io.serverEvent('chat:history', { schema: Type.Array(ChatMessage, { maxItems: HISTORY }), summary: 'The room\'s last messages, sent on connect', tags: ['chat'] }),
    message: app.io.serverEvent('chat:message', { schema: ChatMessage, summary: 'A message sent to the room', tags: ['chat'] }),
    presence: app.io.serverEvent('presence', { schema: Type.Array(Type.String()), summary: 'Who is in the room, sent when someone comes or goes', tags: ['chat'] })
  }

  app.io.on('connection', async (socket) => {
    const { room } = socket.data.query
    socket.data.user = socket.session.user
    socket.join([room, sessionRoom(socket)])
    socket.emit('counter', socket.session.count ?? 0)
    try {
      socket.emit('chat:history', await history.last(room))
    } catch (err) {
      app.log.warn({ err, room }, 'example app: could not read the history')
    }
    socket.on('disconnect', () => { void announce(app, room) })
    await announce(app, room)
  })

  /** A message to everyone in the sender's room, on every node. */
  const send = app.io.event('chat:send', {
    schema: { payload: Message, ack: Sent },
    summary: 'Send a message to the room',
    description: 'Everyone in the sender\'s room gets it as `chat:message`, on every node; at most 5 in 3 seconds.',
    tags: ['chat'],
    rateLimit: { max: 5, timeWindow: 3000 }
  }, async (socket, { text }) => {
    const message = { id: randomUUID(), from: socket.session.user, text, at: Date.now() }
    const { room } = socket.data.query
    app.io.to(room).emit('chat:message', message)
    socket.session.sent = (socket.session.sent ?? 0) + 1
    try {
      await history.add(room, message)
    } catch (err) {
      app.log.warn({ err, room }, 'example app: could not keep the message in the history')
    }
    return { id: message.id }
  })

  /** The session's counter: every tab of the session (this one too) is sent the new value, in order. */
  const increment = app.io.event('counter:increment', {
    schema: { ack: Type.Integer({ minimum: 1 }) },
    summary: 'Add one to the session\'s counter',
    description: 'The counter lives in the session: HTTP pages and every tab see it. The reply is the new value.',
    tags: ['counter']
  }, (socket) => {
    const count = (socket.session.count ?? 0) + 1
    socket.session.count = count
    app.io.to(sessionRoom(socket)).emit('counter', count)
    return count
  })

  return { send, increment, events }
}
