import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import { startApp } from './helpers.js'

// ---- Behind a proxy: the server's own origin follows X-Forwarded-* only under Fastify's trustProxy ----

const FRONT = 'https://chat.example'
const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat.example' }

const cases: Array<[string, FastifyServerOptions['trustProxy'], boolean]> = [
  ['without trustProxy', undefined, false],
  ['trustProxy: true', true, true],
  ['trustProxy: \'127.0.0.1\' (the peer)', '127.0.0.1', true],
  ['trustProxy: \'10.0.0.1\' (not the peer)', '10.0.0.1', false]
]

for (const [name, trustProxy, honoured] of cases) {
  t.test(`X-Forwarded-Proto and X-Forwarded-Host, ${name}`, async (t) => {
    const { url, connected } = await startApp(t, { fastify: trustProxy === undefined ? {} : { trustProxy } })
    const outcome = async (headers: Record<string, string>, transport = 'websocket'): Promise<string> =>
      await connected({ transports: [transport as 'websocket'], extraHeaders: headers }).then(() => 'connected', (err) => err.data?.code)
    for (const transport of ['websocket', 'polling']) {
      t.equal(await outcome({ origin: FRONT, ...forwarded }, transport), honoured ? 'connected' : 'ORIGIN_NOT_ALLOWED', `the proxy's origin (${transport})`)
    }
    t.equal(await outcome({ origin: url, ...forwarded }), honoured ? 'ORIGIN_NOT_ALLOWED' : 'connected', 'the address behind the proxy')
  })
}

t.test('under trustProxy, the last forwarded value counts, as for Fastify\'s request.host and request.protocol', async (t) => {
  const { connected } = await startApp(t, { fastify: { trustProxy: true }, plugin: { allowMissingOrigin: false } })
  const outcome = async (headers: Record<string, string>, transport = 'websocket'): Promise<string> =>
    await connected({ transports: [transport as 'websocket'], extraHeaders: headers }).then(() => 'connected', (err) => err.data?.code)
  t.equal(await outcome({ origin: FRONT, 'x-forwarded-proto': 'http, https', 'x-forwarded-host': 'evil.example, chat.example' }), 'connected')
  t.equal(await outcome({ origin: 'https://evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat.example, evil.example' }), 'connected')
  t.equal(await outcome({ 'sec-fetch-site': 'same-origin', ...forwarded }, 'polling'), 'connected', 'a same-origin poll without Origin')
  t.equal(await outcome({ 'sec-fetch-site': 'same-origin', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'chat.example' }, 'polling'),
    'ORIGIN_NOT_ALLOWED', 'a forwarded scheme other than http(s) leaves no own origin')
  t.equal(await outcome({ origin: FRONT, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat.example/path' }),
    'ORIGIN_NOT_ALLOWED', 'nor does a forwarded host that is more than a host')
  t.equal(await outcome({ origin: FRONT, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat example' }),
    'ORIGIN_NOT_ALLOWED', 'or not a host at all')
})
