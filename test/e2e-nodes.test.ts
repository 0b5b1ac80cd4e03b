import t from 'tap'
import { browser, example, login, openChat, sessionId, shows, until } from './browser.js'
import { startRedis } from './redis-server.js'
import { RedisStore } from '../plugin/index.js'

// ---- Two nodes of the example app on one Redis, in headless Chromium: rooms and sessions shared ----

const redis = await startRedis(t)

t.test('6. a message from a tab on node A reaches a tab on node B; logout on A disconnects the tab on B', async (t) => {
  const a = await example(t, { redisUrl: redis.url })
  const b = await example(t, { redisUrl: redis.url })
  const context = await browser(t)
  const keys = redis.client()

  // One browser, one session: the cookie belongs to 127.0.0.1, whatever the port.
  const onA = await context.newPage()
  await login(onA, a.url, 'Ada')
  const onB = await openChat(context, b.url)
  t.equal(await onB.textContent('#user'), 'Ada', 'node B serves the session node A created')
  const id = await sessionId(context)
  t.match(await keys.hgetall(`sess:${id}`), { user: '"Ada"' }, 'Redis holds the session')

  // A second person on node B.
  const other = await browser(t)
  const bob = await other.newPage()
  await login(bob, b.url, 'Bob')
  await shows(onA, '#online', 'AdaBob')

  await onA.fill('#text', 'sent on node A')
  await onA.press('#text', 'Enter')
  await shows(onB, '#messages li:last-child p', 'sent on node A')
  await shows(bob, '#messages li:last-child p', 'sent on node A')
  await bob.fill('#text', 'and back from node B')
  await bob.press('#text', 'Enter')
  await shows(onA, '#messages li:last-child p', 'and back from node B')
  t.equal(await until(async () => await keys.hget(`sess:${id}`, 'sent'), (v) => v === '1'), '1', 'Redis holds what the session sent')

  await onB.bringToFront()
  await onB.click('#increment')
  await shows(onB, '#count', '1')
  await shows(onA, '#count', '1')
  t.equal(await until(async () => await keys.hget(`sess:${id}`, 'count'), (v) => v === '1'), '1')

  await onA.bringToFront()
  await onA.click('#logout')
  await shows(onB, '#state-text', 'disconnected')
  t.equal(await onB.textContent('#ended-text'), 'Disconnected: the session ended (logout or a new login).', 'the tab on node B says why')
  const store = new RedisStore({ client: keys })
  t.equal(await new Promise((resolve) => store.get(id as string, (_err, session) => resolve(session))), null, 'the session is gone from Redis')
  t.equal(await keys.type(`sess:${id}`), 'string', 'a tombstone refuses late saves')
  t.equal(b.app.io.of('/').sockets.size, 1, 'node B has only Bob left')
  await shows(bob, '#online', 'Bob')
})
