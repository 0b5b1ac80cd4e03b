import t from 'tap'
import { Buckets } from '../plugin/routes/rate-limit.js'
import { call, next, startApp, type MaybeError } from './helpers.js'

// ---- Rate limits, and events nobody handles ----

t.test('a token bucket: a burst of max, then max per timeWindow', async (t) => {
  const buckets = new Buckets()
  const take = (limit: { max: number, timeWindow: number }, now: number, key = 'a'): number => buckets.take(key, limit, now)
  const limit = { max: 3, timeWindow: 300 }
  t.same([take(limit, 0), take(limit, 0), take(limit, 0)], [0, 0, 0], 'the burst')
  t.equal(take(limit, 0), 100, 'then the wait for one token')
  t.equal(take(limit, 50), 50, 'half refilled')
  t.equal(take(limit, 100), 0, 'one token back after 100 ms')
  t.equal(take(limit, 100), 100)
  t.same([take(limit, 10_000), take(limit, 10_000), take(limit, 10_000), take(limit, 10_000)], [0, 0, 0, 100], 'an idle bucket refills to max, no more')
  const other = { max: 1, timeWindow: 1000 }
  t.equal(take(other, 10_000), 0, 'each limit is its own bucket')
  t.equal(take(limit, 10_000, 'b'), 0, 'and each key')
})

t.test('keys whose buckets would be full again are dropped once the keys have doubled', async (t) => {
  const buckets = new Buckets()
  const quick = { max: 2, timeWindow: 1024 } // full again 512 ms after one event
  const slow = { max: 1, timeWindow: 1024 } // full again 1024 ms after one event
  buckets.take('busy', quick, 0)
  buckets.take('busy', slow, 0)
  for (let i = 0; i < 1023; i++) buckets.take(`idle-${i}`, quick, 0)
  t.equal(buckets.size, 1024, 'no sweep below 1024 keys')
  t.equal(buckets.take('busy', quick, 1000), 0)
  t.equal(buckets.size, 1024, 'a known key does not sweep')
  buckets.take('new', quick, 1000)
  t.equal(buckets.size, 2, 'a new key swept the full keys first, but kept one with a bucket still refilling')
  t.equal(buckets.take('busy', slow, 1000), 24, 'whose buckets are as they were')
  for (let i = 0; i < 1022; i++) buckets.take(`later-${i}`, quick, 1000)
  buckets.take('sweeps', quick, 1000)
  t.equal(buckets.size, 1025, 'a sweep at 1024 keys, when none was full again')
  for (let i = 0; i < 1023; i++) buckets.take(`more-${i}`, quick, 1600)
  t.equal(buckets.size, 2048, 'the next sweep waits until the keys have doubled')
  buckets.take('last', quick, 1600)
  t.equal(buckets.size, 1024, 'then the keys full again by now went, the others stayed')
})

t.test('a route limit refuses with RATE_LIMITED and retryAfter; other sessions are not affected', async (t) => {
  let handled = 0
  const { connected, login } = await startApp(t, {
    setup: (app) => { app.io.event('send', { rateLimit: { max: 3, timeWindow: 60_000 } }, () => ++handled) }
  })
  const noisy = await connected({ extraHeaders: { cookie: await login() } })
  const replies = await Promise.all(Array.from({ length: 5 }, async () => await call<number | Required<MaybeError>>(noisy, 'send')))
  t.same(replies.slice(0, 3), [1, 2, 3])
  for (const reply of replies.slice(3) as Array<Required<MaybeError>>) {
    t.equal(reply.error.code, 'RATE_LIMITED')
    t.equal(reply.error.message, 'too many events, retry later')
    const retryAfter = reply.error.retryAfter ?? 0
    t.ok(retryAfter > 0 && retryAfter <= 20_000, 'retryAfter is about a third of the window')
  }
  noisy.emit('send')
  t.match(await next(noisy, 'error'), { event: 'send', error: { code: 'RATE_LIMITED' } }, 'without an ack, as the error event')
  const quiet = await connected({ extraHeaders: { cookie: await login() } })
  t.same(await Promise.all([call(quiet, 'send'), call(quiet, 'send'), call(quiet, 'send')]), [4, 5, 6])
  t.equal(handled, 6)
})

t.test('the global limit counts every routed event of a session, on top of route limits', async (t) => {
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
