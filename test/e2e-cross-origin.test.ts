import t from 'tap'
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { startApp } from './helpers.js'
import { browser, shows } from './browser.js'

// ---- A front end on another origin: the page and the API on two ports of https://127.0.0.1 ----
// README "Cross-origin front ends": the cookie (SameSite=None; Secure), Socket.IO's cors with credentials and the
// client's withCredentials, and allowedOrigins must agree. Chromium logs in with fetch, then opens a socket.
// Two ports of one host are two origins of one site, as app.example.com and api.example.com are; a page on
// another site (https://localhost) meets the browser's third-party cookie blocking.

const key = readFileSync(new URL('./fixtures/localhost.key', import.meta.url))
const cert = readFileSync(new URL('./fixtures/localhost.crt', import.meta.url))

/** The API, configured for a front end at `origin` as the README says (`allowed: false` leaves out allowedOrigins). */
async function api (t: Parameters<typeof startApp>[0], origin: string, allowed: boolean) {
  return await startApp(t, {
    fastify: { https: { key, cert }, forceCloseConnections: true } as any,
    session: { cookie: { secure: true, sameSite: 'none' } },
    io: { cors: { origin, credentials: true } },
    plugin: { allowedOrigins: allowed ? [origin] : [] },
    setup: (app) => {
      // CORS for the login fetch (what @fastify/cors with { origin, credentials: true } sends).
      app.addHook('onSend', async (request, reply) => {
        if (request.headers.origin === origin) reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin')
      })
      app.io.on('connection', (socket: any) => {
        socket.on('whoami', (ack: (v: unknown) => void) => ack(socket.session.user ?? 'nobody'))
      })
    }
  })
}

/** Reserves the front end's port first, so that the API can be told its origin. */
async function sites (t: Parameters<typeof startApp>[0], transport: 'websocket' | 'polling', pageHost = '127.0.0.1', allowed = true) {
  // The API's URL is needed by the page, and the page's origin by the API: the page's HTML is filled in once
  // both listen.
  const page = Fastify({ https: { key, cert }, forceCloseConnections: true })
  t.teardown(async () => await page.close())
  let html = ''
  page.get('/', async (_request, reply) => reply.type('text/html').send(html))
  const address = await page.listen({ host: '127.0.0.1', port: 0 })
  const origin = `https://${pageHost}:${new URL(address).port}`
  const server = await api(t, origin, allowed)
  html = pageHtml(server.url, transport)
  return { pageUrl: `${origin}/`, origin, server }
}

/** The front end: logs in to the API with fetch, then opens a socket and shows who the session's user is. */
function pageHtml (apiUrl: string, transport: 'websocket' | 'polling'): string {
  return `<!doctype html>
<p id="result">pending</p>
<script src="${apiUrl}/socket.io/socket.io.js"></script>
<script>
  const result = document.getElementById('result')
  fetch(${JSON.stringify(`${apiUrl}/login`)}, { method: 'POST', credentials: 'include' }).then((response) => {
    if (!response.ok) throw new Error('login answered ' + response.status)
    const socket = io(${JSON.stringify(apiUrl)}, { withCredentials: true, transports: [${JSON.stringify(transport)}], reconnection: false })
    socket.on('connect', async () => { result.textContent = 'user: ' + await socket.emitWithAck('whoami') })
    socket.on('connect_error', (err) => { result.textContent = 'refused: ' + (err.data ? err.data.code : err.message) })
  }).catch((err) => { result.textContent = 'failed: ' + err.message })
</script>`
}

for (const transport of ['websocket', 'polling'] as const) {
  t.test(`a page on another origin logs in with fetch, then its ${transport} socket has the session`, async (t) => {
    const { pageUrl, origin, server } = await sites(t, transport)
    t.not(new URL(server.url).origin, origin, 'another origin')
    const context = await browser(t, { ignoreHTTPSErrors: true })
    const page = await context.newPage()
    await page.goto(pageUrl)
    t.equal(await shows(page, '#result', /^(user|refused|failed)/), 'user: ada', 'the socket sees the user the fetch logged in')
    const cookie = (await context.cookies(server.url)).find((c) => c.name === 'sessionId')
    t.equal(cookie?.sameSite, 'None')
    t.equal(cookie?.secure, true)
    t.equal(server.app.io.of('/').sockets.size, 1)
    t.equal([...server.app.io.of('/').sockets.values()][0].handshake.headers.origin, origin, 'the handshake came from the page\'s origin')
  })
}

t.test('a page on another site: the browser blocks the cookie as a third-party cookie, the socket has no session', async (t) => {
  const { pageUrl, server } = await sites(t, 'websocket', 'localhost')
  t.not(new URL(server.url).hostname, new URL(pageUrl).hostname, 'another host: another site')
  const context = await browser(t, { ignoreHTTPSErrors: true })
  const page = await context.newPage()
  const blocked: string[][] = []
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  cdp.on('Network.responseReceivedExtraInfo', (info: { blockedCookies?: Array<{ blockedReasons: string[] }> }) => {
    for (const cookie of info.blockedCookies ?? []) blocked.push(cookie.blockedReasons)
  })
  await page.goto(pageUrl)
  t.equal(await shows(page, '#result', /^(user|refused|failed)/), 'user: nobody', 'connected, but without a session')
  t.same(blocked, [['UserPreferences']], 'the login\'s Set-Cookie was blocked by the browser\'s cookie settings')
  t.equal((await context.cookies()).length, 0)
})

t.test('without the page\'s origin in allowedOrigins, the socket is refused', async (t) => {
  const { pageUrl } = await sites(t, 'websocket', '127.0.0.1', false)
  const context = await browser(t, { ignoreHTTPSErrors: true })
  const tab = await context.newPage()
  await tab.goto(pageUrl)
  t.equal(await shows(tab, '#result', /^(user|refused|failed)/), 'refused: ORIGIN_NOT_ALLOWED')
})
