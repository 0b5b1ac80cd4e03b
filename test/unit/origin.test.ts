import t from 'tap'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Socket } from 'socket.io'
import { resolveOptions, type OriginCheck } from '../../plugin/options.js'
import { BAD_ORIGIN, NO_ORIGIN, OTHER_ORIGIN, handshakeOrigin, originAllowed, requestOrigin, sameAsOpened, type EffectiveOrigin, type RequestOrigin } from '../../plugin/socket/origin.js'

// ---- A request's effective origin, and whether its socket may open ----

const OWN = 'http://127.0.0.1:3000'
const own = (): string => OWN
// Only the fields the functions read.
const request = (headers: IncomingHttpHeaders): IncomingMessage => ({ headers }) as IncomingMessage
const socketOf = (req: IncomingMessage): Socket => ({ request: req }) as Socket

t.test('requestOrigin: the Origin header, else fetch metadata', async (t) => {
  const rows: Array<{ name: string, headers: IncomingHttpHeaders, ownUnknown?: true, expected: EffectiveOrigin }> = [
    { name: 'an https origin', headers: { origin: 'https://app.example.com' }, expected: 'https://app.example.com' },
    { name: 'normalized: case, default port, trailing slash', headers: { origin: 'HTTPS://App.Example.COM:443/' }, expected: 'https://app.example.com' },
    { name: 'an IPv6 origin with a port', headers: { origin: 'http://[::1]:5173' }, expected: 'http://[::1]:5173' },
    { name: '"null"', headers: { origin: 'null' }, expected: BAD_ORIGIN },
    { name: 'garbage', headers: { origin: 'not a url' }, expected: BAD_ORIGIN },
    { name: 'empty', headers: { origin: '' }, expected: BAD_ORIGIN },
    { name: 'a file: origin', headers: { origin: 'file:///etc/passwd' }, expected: BAD_ORIGIN },
    { name: 'an extension origin', headers: { origin: 'chrome-extension://abcdef' }, expected: BAD_ORIGIN },
    { name: 'a repeated header, as Node joins it', headers: { origin: `${OWN}, https://evil.example` }, expected: BAD_ORIGIN },
    { name: 'two origins joined without a space', headers: { origin: 'https://a.example,https://b.example' }, expected: BAD_ORIGIN },
    { name: 'an origin with a path', headers: { origin: 'https://app.example.com/x' }, expected: BAD_ORIGIN },
    { name: 'an origin with a query', headers: { origin: 'https://app.example.com?x' }, expected: BAD_ORIGIN },
    { name: 'an origin with a fragment', headers: { origin: 'https://app.example.com#x' }, expected: BAD_ORIGIN },
    { name: 'an origin with credentials', headers: { origin: 'https://user:pw@app.example.com' }, expected: BAD_ORIGIN },
    { name: 'the Origin header wins over fetch metadata', headers: { origin: 'https://app.example.com', 'sec-fetch-site': 'same-origin' }, expected: 'https://app.example.com' },
    { name: 'a malformed Origin is not rescued by fetch metadata', headers: { origin: 'null', 'sec-fetch-site': 'same-origin' }, expected: BAD_ORIGIN },
    { name: 'no Origin, no fetch metadata: a non-browser client', headers: {}, expected: NO_ORIGIN },
    { name: 'Sec-Fetch-Site: none: a typed URL', headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }, expected: NO_ORIGIN },
    { name: 'Sec-Fetch-Mode alone is not read', headers: { 'sec-fetch-mode': 'no-cors' }, expected: NO_ORIGIN },
    { name: 'Sec-Fetch-Site: same-origin: the own origin', headers: { 'sec-fetch-site': 'same-origin' }, expected: OWN },
    { name: 'same-origin, the own origin unknown', headers: { 'sec-fetch-site': 'same-origin' }, ownUnknown: true, expected: BAD_ORIGIN },
    { name: 'Sec-Fetch-Site: same-site', headers: { 'sec-fetch-site': 'same-site' }, expected: OTHER_ORIGIN },
    { name: 'Sec-Fetch-Site: cross-site (a script tag)', headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, expected: OTHER_ORIGIN }
  ]
  for (const row of rows) {
    const ownOrigin = row.ownUnknown === true ? undefined : OWN
    const req = request(row.headers)
    const seen: IncomingMessage[] = []
    const result = requestOrigin(req, (r) => { seen.push(r); return ownOrigin })
    t.strictSame({ origin: result.origin, own: result.own() }, { origin: row.expected, own: ownOrigin }, row.name)
    t.equal(seen[0], req, `${row.name}: the own origin of this request`)
  }
})

t.test('requestOrigin: the own origin is worked out only when needed, and once for same-origin fetch metadata', async (t) => {
  let calls = 0
  const counted = (): string => { calls++; return OWN }
  requestOrigin(request({}), counted)
  requestOrigin(request({ origin: 'https://app.example.com' }), counted)
  requestOrigin(request({ 'sec-fetch-site': 'cross-site' }), counted)
  t.equal(calls, 0, 'not for the origin alone')
  const same = requestOrigin(request({ 'sec-fetch-site': 'same-origin' }), counted)
  t.equal(calls, 1, 'same-origin fetch metadata needs it for the origin itself')
  t.equal(same.own(), OWN)
  t.equal(calls, 1, 'and keeps it')
})

t.test('handshakeOrigin: worked out once per request', async (t) => {
  let calls = 0
  const counted = (): string => { calls++; return OWN }
  const req = request({ 'sec-fetch-site': 'same-origin' })
  const first = handshakeOrigin(req, counted)
  req.headers.origin = 'https://evil.example'
  t.equal(handshakeOrigin(req, counted), first, 'the same answer for the same request')
  t.equal(first.origin, OWN)
  t.equal(calls, 1)
  t.equal(handshakeOrigin(request({ origin: 'https://evil.example' }), counted).origin, 'https://evil.example', 'another request, its own answer')
  t.equal(handshakeOrigin(request({ 'sec-fetch-site': 'same-origin' }), counted).origin, OWN)
  t.equal(calls, 2)
})

t.test('sameAsOpened: a later request from the own origin or from where the connection was opened', async (t) => {
  const at = (origin: EffectiveOrigin, ownOrigin: string | undefined = OWN): RequestOrigin => ({ origin, own: () => ownOrigin })
  const rows: Array<{ name: string, now: RequestOrigin, opened: RequestOrigin, expected: boolean }> = [
    { name: 'the own origin', now: at(OWN), opened: at('https://app.example.com'), expected: true },
    { name: 'the opening origin', now: at('https://app.example.com'), opened: at('https://app.example.com'), expected: true },
    { name: 'another origin', now: at('https://evil.example'), opened: at('https://app.example.com'), expected: false },
    { name: 'no origin after an origin', now: at(NO_ORIGIN), opened: at('https://app.example.com'), expected: false },
    { name: 'an origin after none', now: at('https://evil.example'), opened: at(NO_ORIGIN), expected: false },
    { name: 'no origin after none', now: at(NO_ORIGIN), opened: at(NO_ORIGIN), expected: true },
    { name: 'malformed after malformed (the socket check refuses it)', now: at(BAD_ORIGIN), opened: at(BAD_ORIGIN), expected: true },
    { name: 'no origin, the own origin unknown', now: at(NO_ORIGIN, undefined), opened: at(OTHER_ORIGIN), expected: false }
  ]
  for (const { name, now, opened, expected } of rows) t.equal(sameAsOpened(now, opened), expected, name)
})

t.test('originAllowed: none per allowMissingOrigin, the own origin, else allowedOrigins', async (t) => {
  const rows: Array<{ name: string, headers: IncomingHttpHeaders, allowedOrigins?: string[] | OriginCheck, allowMissingOrigin?: boolean, expected: boolean, asked: string[] }> = [
    { name: 'no origin, allowed by default', headers: {}, expected: true, asked: [] },
    { name: 'no origin, allowMissingOrigin: false', headers: {}, allowMissingOrigin: false, expected: false, asked: [] },
    { name: 'a typed URL, allowMissingOrigin: false', headers: { 'sec-fetch-site': 'none' }, allowMissingOrigin: false, expected: false, asked: [] },
    { name: 'the own origin', headers: { origin: OWN }, allowMissingOrigin: false, expected: true, asked: [] },
    { name: 'the own origin by fetch metadata', headers: { 'sec-fetch-site': 'same-origin' }, expected: true, asked: [] },
    { name: 'a listed origin', headers: { origin: 'https://app.example.com' }, allowedOrigins: ['https://app.example.com'], expected: true, asked: ['https://app.example.com'] },
    { name: 'an origin not listed', headers: { origin: 'https://evil.example' }, allowedOrigins: ['https://app.example.com'], expected: false, asked: ['https://evil.example'] },
    { name: 'a function, given the normalized origin', headers: { origin: 'HTTPS://App.Example.com' }, allowedOrigins: () => true, expected: true, asked: ['https://app.example.com'] },
    { name: 'an async function', headers: { origin: 'https://app.example.com' }, allowedOrigins: async () => await Promise.resolve(true), expected: true, asked: ['https://app.example.com'] },
    { name: 'a truthy answer is not true', headers: { origin: 'https://app.example.com' }, allowedOrigins: () => 'yes' as unknown as boolean, expected: false, asked: ['https://app.example.com'] },
    { name: 'malformed: refused, never asked', headers: { origin: 'null' }, allowedOrigins: () => true, expected: false, asked: [] },
    { name: 'another origin without Origin: refused, never asked', headers: { 'sec-fetch-site': 'cross-site' }, allowedOrigins: () => true, expected: false, asked: [] }
  ]
  for (const { name, headers, allowedOrigins, allowMissingOrigin, expected, asked } of rows) {
    const resolved = resolveOptions({ allowedOrigins, allowMissingOrigin })
    const socket = socketOf(request(headers))
    const seen: string[] = []
    const check: OriginCheck = async (origin, s) => {
      seen.push(origin)
      t.equal(s, socket, `${name}: asked with the socket`)
      return await resolved.allowedOrigins(origin, s)
    }
    t.equal(await originAllowed(socket, { allowedOrigins: check, allowMissingOrigin: resolved.allowMissingOrigin }, own), expected, name)
    t.strictSame(seen, asked, `${name}: asked`)
  }
})
