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
  t.notOk(await b.isVisible('#me'), 'no "Signed in as" any more')
  t.notOk(await b.isVisible('#logout'), 'no Log out button')
  t.equal(await b.locator('#online li').count(), 0, 'nobody is shown online')
  t.notOk(await b.isVisible('#send-error'), 'no notice left over')
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

t.test('5. on a phone-sized screen the header takes two lines and nothing scrolls sideways', async (t) => {
  const page = await context.newPage()
  await page.setViewportSize({ width: 390, height: 844 })
  await page.goto(url)
  await shows(page, '#state-text', 'connected')
  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    header: document.querySelector('header')?.getBoundingClientRect().height ?? 0,
    line: parseFloat(getComputedStyle(document.body).lineHeight) || 22
  }))
  t.ok(layout.scrollWidth <= 390, `no sideways scrolling (page ${layout.scrollWidth} px wide)`)
  t.ok(layout.header <= 2 * 44 + 24, `the header is two lines at most (${layout.header} px)`)
  const shot = join(tmpdir(), `chat-phone-${process.pid}.png`)
  await page.screenshot({ path: shot })
  t.same([...(await readFile(shot)).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG')
  // UPDATE_SCREENSHOT=1 npm test refreshes the README's picture.
  if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(shot, new URL('../example-app/screenshot-phone.png', import.meta.url))
  await page.close()
})

t.test('6. a new tab shows the room\'s last messages; the rate limit says how long to wait', async (t) => {
  const page = await openChat(context, url)
  const first = await context.newPage()
  await first.goto(url)
  await shows(first, '#state-text', 'connected')
  const texts = ['history one', 'history two']
  for (const text of texts) {
    await first.fill('#text', text)
    await first.press('#text', 'Enter')
    await shows(first, '#messages li:last-child p', text)
  }
  const later = await openChat(context, url)
  const shown = await until(async () => await later.$$eval('#messages li p', (items) => items.map((item) => item.textContent)), (list) => list.length >= 2)
  t.same(shown.slice(-2), texts, 'the new tab shows what was said before it opened')
  await Promise.all([page.close(), first.close(), later.close()])
  // Five messages per three seconds and session: eight sent at once (a fresh session), the last three are refused,
  // and the notice says for how long.
  const other = await browser(t)
  const cy = await other.newPage()
  await login(cy, url, 'Cy')
  await cy.fill('#text', 'burst')
  await cy.evaluate(() => {
    const form = document.getElementById('send') as HTMLFormElement
    for (let i = 0; i < 8; i++) form.requestSubmit()
  })
  t.match(await shows(cy, '#send-error', /^Slow down/), /^Slow down: try again in [1-3] s\.$/)
  const bursts = await until(async () => await cy.$$eval('#messages li p', (items) => items.filter((item) => item.textContent === 'burst').length), (n) => n >= 5)
  t.equal(bursts, 5, 'the first five went through')
})
