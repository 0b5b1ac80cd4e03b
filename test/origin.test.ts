import t from 'tap'
import { startApp, call, captureLogs, refused } from './helpers.js'

// ---- Origin check: cross-site WebSocket hijacking ----

const whoami = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('whoami', (ack: (v: unknown) => void) => ack(socket.session.user ?? null))
  })
}

for (const transport of ['websocket', 'polling'] as const) {
  t.test(`a foreign Origin is refused, the server's own is allowed (${transport})`, async (t) => {
    const { logs, logger } = captureLogs('info')
    const { url, login, connected } = await startApp(t, { fastify: { logger }, setup: whoami })
    const cookie = await login({ user: 'victim' })
    const own = await connected({ transports: [transport], extraHeaders: { cookie, origin: url } })
    t.equal(await call(own, 'whoami'), 'victim')
    const err = await refused(connected({ transports: [transport], extraHeaders: { cookie, origin: 'https://evil.example' } }))
    t.same(err.data, { code: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' })
    const refusal = logs.find((l) => l.code === 'ORIGIN_NOT_ALLOWED')
    t.equal(refusal?.origin, 'https://evil.example', 'the refusal is logged with its origin')
    t.equal(String(refusal?.address).includes('127.0.0.1'), true, 'and the address')
    t.equal(refusal?.level, 40, 'as a warning')
    t.notOk(JSON.stringify(logs).includes(cookie.split('=')[1].slice(0, 20)), 'never the cookie')
  })
}

t.test('null, malformed, other-scheme and listed-twice origins are refused', async (t) => {
  const { url, connected } = await startApp(t, { setup: whoami })
  for (const transport of ['websocket', 'polling'] as const) {
    for (const origin of ['null', 'not a url', 'file:///etc/passwd', `${url}, https://evil.example`, 'http://127.0.0.1.evil.example']) {
      const err = await refused(connected({ transports: [transport], extraHeaders: { origin } }))
      t.equal(err.data?.code, 'ORIGIN_NOT_ALLOWED', `${origin} (${transport})`)
    }
  }
})

t.test('allowedOrigins as a list', async (t) => {
  const { connected } = await startApp(t, { plugin: { allowedOrigins: ['https://app.example.com/', 'http://localhost:5173'] }, setup: whoami })
  t.ok(await connected({ extraHeaders: { origin: 'https://app.example.com' } }))
  t.ok(await connected({ extraHeaders: { origin: 'http://localhost:5173' } }))
  const err = await refused(connected({ extraHeaders: { origin: 'https://app.example.com:8443' } }))
  t.equal(err.data.code, 'ORIGIN_NOT_ALLOWED')
})

t.test('allowedOrigins as a function (sync, async, throwing)', async (t) => {
  const seen: string[] = []
  const { connected } = await startApp(t, {
    plugin: {
      allowedOrigins: async (origin) => {
        seen.push(origin)
        if (origin === 'https://boom.example') throw new Error('bug')
        return origin.endsWith('.trusted.example')
      }
    },
    setup: whoami
  })
  t.ok(await connected({ extraHeaders: { origin: 'https://a.trusted.example' } }))
  for (const origin of ['https://evil.example', 'https://boom.example']) {
    const err = await refused(connected({ extraHeaders: { origin } }))
    t.equal(err.data.code, 'ORIGIN_NOT_ALLOWED', origin)
  }
  t.same(seen, ['https://a.trusted.example', 'https://evil.example', 'https://boom.example'])
})

t.test('no Origin: allowed by default, refused with allowMissingOrigin: false', async (t) => {
  const open = await startApp(t, { setup: whoami })
  t.ok(await open.connected())
  const strict = await startApp(t, { plugin: { allowMissingOrigin: false }, setup: whoami })
  const err = await refused(strict.connected())
  t.equal(err.data.code, 'ORIGIN_NOT_ALLOWED')
  t.ok(await strict.connected({ extraHeaders: { origin: strict.url } }))
})

t.test('the server\'s own origin is its scheme, host and port', async (t) => {
  const { url, connected } = await startApp(t, { setup: whoami })
  const { port } = new URL(url)
  t.ok(await connected({ extraHeaders: { origin: url } }))
  t.ok(await connected({ extraHeaders: { origin: `HTTP://127.0.0.1:${port}/` } }), 'compared as origins')
  for (const origin of [`https://127.0.0.1:${port}`, 'http://127.0.0.1', `http://localhost:${port}`]) {
    const err = await refused(connected({ extraHeaders: { origin } }))
    t.equal(err.data?.code, 'ORIGIN_NOT_ALLOWED', origin)
  }
})
