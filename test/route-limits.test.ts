import t from 'tap'
import type { Socket } from 'socket.io'
import { take } from '../plugin/rate-limit.js'
import { call, next, startApp } from './helpers.js'

// ---- Rate limits per socket, and events nobody handles ----

t.test('a token bucket: a burst of max, then max per timeWindow', async (t) => {
  const socket = {} as Socket
  const limit = { max: 3, timeWindow: 300 }
  t.same([take(socket, limit, 0), take(socket, limit, 0), take(socket, limit, 0)], [0, 0, 0], 'the burst')
  t.equal(take(socket, limit, 0), 100, 'then the wait for one token')
  t.equal(take(socket, limit, 50), 50, 'half refilled')
  t.equal(take(socket, limit, 100), 0, 'one token back after 100 ms')
  t.equal(take(socket, limit, 100), 100)
  t.same([take(socket, limit, 10_000), take(socket, limit, 10_000), take(socket, limit, 10_000), take(socket, limit, 10_000)], [0, 0, 0, 100], 'an idle bucket refills to max, no more')
  const other = { max: 1, timeWindow: 1000 }
  t.equal(take(socket, other, 10_000), 0, 'each limit is its own bucket')
  t.equal(take({} as Socket, limit, 10_000), 0, 'and each socket')
})

t.test('a route limit refuses with RATE_LIMITED and retryAfter; other sockets are not affected', async (t) => {
  let handled = 0
  const { connected } = await startApp(t, {
    setup: (app) => { app.io.event('send', { rateLimit: { max: 3, timeWindow: 60_000 } }, () => ++handled) }
  })
  const noisy = await connected()
  const replies = await Promise.all(Array.from({ length: 5 }, async () => await call(noisy, 'send')))
  t.same(replies.slice(0, 3), [1, 2, 3])
  for (const reply of replies.slice(3)) {
    t.equal(reply.error.code, 'RATE_LIMITED')
    t.equal(reply.error.message, 'too many events, retry later')
    t.ok(reply.error.retryAfter > 0 && reply.error.retryAfter <= 20_000, 'retryAfter is about a third of the window')
  }
  noisy.emit('send')
  t.match(await next(noisy, 'error'), { event: 'send', error: { code: 'RATE_LIMITED' } }, 'without an ack, as the error event')
  const quiet = await connected()
  t.same(await Promise.all([call(quiet, 'send'), call(quiet, 'send'), call(quiet, 'send')]), [4, 5, 6])
  t.equal(handled, 6)
})

t.test('the global limit counts every routed event of a socket, on top of route limits', async (t) => {
  const { connected } = await startApp(t, {
    plugin: { events: { rateLimit: { max: 4, timeWindow: 60_000 } } },
    setup: (app) => {
      app.io.event('a', () => 'a')
      app.io.event('b', { rateLimit: { max: 1, timeWindow: 60_000 } }, () => 'b')
      app.io.on('connection', (socket) => { socket.on('plain', (ack: (v: string) => void) => ack('plain')) })
    }
  })
  const socket = await connected()
  t.equal(await call(socket, 'b'), 'b')
  t.match(await call(socket, 'b'), { error: { code: 'RATE_LIMITED' } }, 'the route limit')
  t.equal(await call(socket, 'a'), 'a')
  t.equal(await call(socket, 'a'), 'a')
  t.match(await call(socket, 'a'), { error: { code: 'RATE_LIMITED' } }, 'the global limit: four routed events')
  t.equal(await call(socket, 'plain'), 'plain', 'socket.on listeners are not limited')
})

t.test('unknown events are ignored by default', async (t) => {
  const { connected } = await startApp(t, { setup: (app) => { app.io.event('known', () => 'known') } })
  const socket = await connected()
  const errors: unknown[] = []
  socket.on('error', (e) => errors.push(e))
  socket.emit('nobody-listens', 1)
  socket.timeout(60_000).emit('nobody-acks', () => { errors.push('acked') })
  // Events are handled in order: the reply to this one comes after anything the unknown ones caused.
  t.equal(await call(socket, 'known'), 'known')
  t.same(errors, [])
})

t.test('unknownEvent: "reply" answers UNKNOWN_EVENT, to the ack or as the error event', async (t) => {
  const { connected } = await startApp(t, {
    plugin: { events: { unknownEvent: 'reply' } },
    setup: (app) => {
      app.io.on('connection', (socket) => { socket.on('plain', (ack: (v: string) => void) => ack('plain')) })
    }
  })
  const socket = await connected()
  t.same(await call(socket, 'nobody'), { error: { code: 'UNKNOWN_EVENT', message: 'unknown event' } })
  socket.emit('y'.repeat(5000), 'no ack')
  const message = await next(socket, 'error')
  t.same(message, { event: 'y'.repeat(200), error: { code: 'UNKNOWN_EVENT', message: 'unknown event' } }, 'the event name is cut short')
  t.equal(await call(socket, 'plain'), 'plain', 'an event with a socket.on listener is known')
})
