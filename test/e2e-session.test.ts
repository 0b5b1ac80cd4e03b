import t from 'tap'
import { copyFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryStore } from '@fastify/session'
import { browser, example, login, openChat, sessionId, shows, until } from './browser.js'

// ---- The example app in headless Chromium: one session over HTTP and Socket.IO, from login to logout ----

const store = new MemoryStore() as MemoryStore & { store: Map<string, any> }
const { app, url } = await example(t, { store })
const context = await browser(t)
/** What the server stored for a session id. */
const stored = (id: string | undefined): any => id === undefined ? undefined : store.store.get(id)
/** What the server stored for a session id, once `count` reached `count` (saves follow what the page shows). */
const storedCount = async (id: string | undefined, count: number): Promise<any> => await until(() => stored(id), (s) => s?.count === count)

let firstId: string | undefined

t.test('1. log in, open the chat; the counter counts socket events and survives a reload', async (t) => {
  const page = await context.newPage()
  await login(page, url, 'Ada')
  t.equal(await page.textContent('#user'), 'Ada')
  t.equal(await page.textContent('#count'), '0')
  for (let i = 1; i <= 3; i++) {
    await page.click('#increment')
    await shows(page, '#count', String(i))
  }
  firstId = await sessionId(context)
  t.match(await storedCount(firstId, 3), { user: 'Ada', count: 3 }, 'the server stored the count')
  await page.reload()
  await shows(page, '#state-text', 'connected')
  t.equal(await page.textContent('#count'), '3', 'after a reload')
  await page.click('#increment')
  t.equal(await shows(page, '#count', '4'), '4')
  t.equal((await storedCount(firstId, 4)).count, 4)
  await page.close()
})

t.test('a lost connection shows as reconnecting, then connected again, with the same session', async (t) => {
  const page = await openChat(context, url)
  // Cut the transport from the server side without ending the socket: the client reconnects by itself.
  for (const socket of app.io.of('/').sockets.values()) socket.conn.close()
  await shows(page, '#state-text', /^(connection lost, reconnecting…|reconnecting \(attempt \d+\)…)$/)
  t.equal(await page.getAttribute('#state', 'data-state'), 'reconnecting')
  t.ok(await page.isDisabled('#increment'), 'nothing can be sent meanwhile')
  await shows(page, '#state-text', 'connected')
  await page.click('#increment')
  await shows(page, '#count', '5')
  t.equal((await storedCount(firstId, 5)).count, 5, 'the same session, counting on')
  await page.close()
})

t.test('2. two tabs of one session both increment; the total is exact', async (t) => {
  const [a, b] = [await openChat(context, url), await openChat(context, url)]
  const before = stored(firstId).count as number
  // Within the app's global limit (20 routed events per second), which the tabs of one session share.
  const clicks = 8
  // Both tabs click at once. The clicks are dispatched to the button (a hidden tab's mouse clicks wait for
  // animation frames that headless Chromium throttles), and go through the page's own click handler.
  await Promise.all([a, b].map(async (page) => { for (let i = 0; i < clicks; i++) await page.locator('#increment').dispatchEvent('click') }))
  const total = String(before + 2 * clicks)
  t.equal(await shows(a, '#count', total), total, 'tab A shows every increment')
  t.equal(await shows(b, '#count', total), total, 'tab B too')
  t.equal((await storedCount(firstId, before + 2 * clicks)).count, before + 2 * clicks, 'the server stored the exact total')
  t.same(await a.$$eval('#online li', (items) => items.map((item) => item.textContent)), ['Ada'], 'one user online, though two tabs')
  await Promise.all([a.close(), b.close()])
})

t.test('two people chat: messages, who is online, and the screenshot of the chat page', async (t) => {
  const ada = await openChat(context, url)
  const other = await browser(t)
  const bob = await other.newPage()
  await login(bob, url, 'Bob')
  await shows(ada, '#online', 'AdaBob')
  await bob.fill('#text', 'Hi Ada! Is the counter still going?')
  await bob.press('#text', 'Enter')
  await shows(ada, '#messages li:last-child p', 'Hi Ada! Is the counter still going?')
  await ada.fill('#text', 'It is: one session for HTTP and the socket, in every tab.')
  await ada.click('#send-button')
  await shows(bob, '#messages li:last-child p', 'It is: one session for HTTP and the socket, in every tab.')
  t.same(await bob.$$eval('#messages li b', (items) => items.map((item) => item.textContent)), ['Bob', 'Ada'])
  t.equal((await until(() => stored(firstId), (s) => s.sent === 1)).sent, 1, 'the session counts what Ada sent')
  await ada.fill('#text', '<img src=x onerror=alert(1)>')
  await ada.click('#send-button')
  await shows(bob, '#messages li:last-child p', '<img src=x onerror=alert(1)>')
  t.equal(await bob.$$eval('#messages img', (images) => images.length), 0, 'messages are text, never HTML')
  await ada.evaluate(() => document.querySelector('#messages li:last-child')?.remove())
  const count = stored(firstId).count as number
  await ada.click('#increment')
  await shows(ada, '#count', String(count + 1))
  const shot = join(tmpdir(), `chat-${process.pid}.png`)
  await ada.screenshot({ path: shot })
  t.same([...(await readFile(shot)).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG')
  // UPDATE_SCREENSHOT=1 npm test refreshes the README's picture.
  if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(shot, new URL('../example-app/screenshot.png', import.meta.url))
  await bob.close()
  await shows(ada, '#online', 'Ada')
  await ada.close()
})

t.test('3. logout in tab A disconnects tab B, which says why; reconnecting needs a login', async (t) => {
  const [a, b] = [await openChat(context, url), await openChat(context, url)]
  await a.click('#logout')
  await shows(a, 'h1', 'Fastify chat')
  t.ok(await a.isVisible('#login'), 'tab A shows the login form')
  await shows(b, '#state-text', 'disconnected')
  t.equal(await b.textContent('#ended-text'), 'Disconnected: the session ended (logout or a new login).')
  t.ok(await b.isVisible('#ended a[href="/"]'), 'with a link to log in again')
  t.ok(await b.isDisabled('#increment'))
  t.equal(stored(firstId), undefined, 'the server no longer has the session')
  t.equal(app.io.engine.clientsCount, 0, 'no socket is left')
  // Tab B's client does not retry by itself; a reload finds no session.
  await b.reload()
  t.ok(await b.isVisible('#login'), 'a reload asks for a login')
  await Promise.all([a.close(), b.close()])
})

t.test('4. logging in again gives a new session id, and a fresh socket gets the new session', async (t) => {
  const page = await context.newPage()
  await login(page, url, 'Ada')
  const id = await sessionId(context)
  t.not(id, firstId, 'a new session id')
  t.equal(await page.textContent('#count'), '0', 'the new session starts at 0')
  await page.click('#increment')
  await shows(page, '#count', '1')
  t.match(await storedCount(id, 1), { user: 'Ada', count: 1 })
  t.equal(stored(firstId), undefined, 'the old session stays gone')
  await page.close()
})
