import t from 'tap'
import type { Socket } from 'socket.io'
import { Type } from 'typebox'
import { FST_SIO_SESSION_BAD_OPTION } from '../../plugin/errors.js'
import { resolveOptions } from '../../plugin/options.js'
import { resolveEvents, type Hook } from '../../plugin/routes/options.js'

// ---- The plugin's options and the `events` option: defaults, accepted values, refusals ----

const socket = {} as Socket
const fn = (): void => {}
const fn2 = (): void => {}

t.test('defaults', async (t) => {
  const { allowedOrigins, events, ...rest } = resolveOptions({})
  t.strictSame(rest, {
    auth: undefined,
    query: undefined,
    requireSession: false,
    autoSave: true,
    cookieName: 'sessionId',
    cookiePrefix: '',
    allowMissingOrigin: true,
    allowJsonp: false,
    errorEvent: 'session:error',
    rolling: true,
    touchAfter: 60_000,
    checkInterval: 1000,
    revalidateInterval: 600_000,
    storeTimeout: 5000,
    asyncapi: { info: { title: 'Socket.IO API', version: '1.0.0' }, servers: {}, path: undefined }
  })
  t.equal(await allowedOrigins('https://app.example.com', socket), false, 'no origin allowed besides the own')
  const defaults = { preHandler: [], onError: [], rateLimit: undefined, keyGenerator: undefined, unknownEvent: 'ignore', errorEvent: 'error', validateAck: true, validateEmits: true }
  t.strictSame(events, defaults, 'events')
  t.strictSame(resolveEvents({}, () => { throw new Error('unexpected') }), defaults, 'events: {}')
})

t.test('accepted values', async (t) => {
  const auth = Type.Object({ token: Type.String() })
  const rows: Array<{ name: string, input: Record<string, unknown>, expected: Record<string, unknown> }> = [
    { name: 'Fastify\'s own register options', input: { prefix: '/x', logLevel: 'warn', logSerializers: {} }, expected: { autoSave: true } },
    { name: 'undefined is the default', input: { autoSave: undefined, cookieName: undefined }, expected: { autoSave: true, cookieName: 'sessionId' } },
    { name: 'flags', input: { requireSession: true, autoSave: false, allowMissingOrigin: false, allowJsonp: true, rolling: false }, expected: { requireSession: true, autoSave: false, allowMissingOrigin: false, allowJsonp: true, rolling: false } },
    { name: 'strings; an empty cookiePrefix', input: { cookieName: 'sid', cookiePrefix: '', errorEvent: 'oops' }, expected: { cookieName: 'sid', cookiePrefix: '', errorEvent: 'oops' } },
    { name: 'intervals from 1 to 2^31 - 1 ms', input: { touchAfter: 1, checkInterval: 2 ** 31 - 1, revalidateInterval: 500, storeTimeout: 100 }, expected: { touchAfter: 1, checkInterval: 2147483647, revalidateInterval: 500, storeTimeout: 100 } },
    { name: 'schemas', input: { auth, query: Type.Object({}) }, expected: { auth, query: Type.Object({}) } },
    { name: 'events flags', input: { events: { unknownEvent: 'reply', errorEvent: 'oops', validateAck: false } }, expected: { events: { unknownEvent: 'reply', errorEvent: 'oops', validateAck: false } } },
    { name: 'events.rateLimit', input: { events: { rateLimit: { max: 2 ** 31 - 1, timeWindow: 1 } } }, expected: { events: { rateLimit: { max: 2147483647, timeWindow: 1 } } } },
    { name: 'events.keyGenerator', input: { events: { keyGenerator: fn } }, expected: { events: { keyGenerator: fn } } },
    { name: 'one hook becomes an array', input: { events: { preHandler: fn } }, expected: { events: { preHandler: [fn] } } },
    { name: 'an array of hooks', input: { events: { onError: [fn, fn2] } }, expected: { events: { onError: [fn, fn2] } } }
  ]
  for (const { name, input, expected } of rows) t.hasStrict(resolveOptions(input), expected, name)
  t.equal(resolveOptions({ auth }).auth, auth, 'a schema is kept as given')
})

t.test('allowedOrigins: a list is compared as origins, a function is kept', async (t) => {
  const rows: Array<{ list: string[] | undefined, origin: string, expected: boolean }> = [
    { list: ['https://app.example.com'], origin: 'https://app.example.com', expected: true },
    { list: ['https://app.example.com/'], origin: 'https://app.example.com', expected: true },
    { list: ['HTTPS://App.Example.com:443'], origin: 'https://app.example.com', expected: true },
    { list: ['http://localhost:5173'], origin: 'http://localhost:5173', expected: true },
    { list: ['https://app.example.com'], origin: 'https://app.example.com:8443', expected: false },
    { list: ['https://app.example.com'], origin: 'http://app.example.com', expected: false },
    { list: ['https://app.example.com'], origin: 'https://evil.app.example.com', expected: false },
    { list: [], origin: 'https://app.example.com', expected: false },
    { list: undefined, origin: 'https://app.example.com', expected: false }
  ]
  for (const { list, origin, expected } of rows) {
    t.equal(await resolveOptions({ allowedOrigins: list }).allowedOrigins(origin, socket), expected, `${JSON.stringify(list)} ${origin}`)
  }
  const check = (origin: string): boolean => origin.endsWith('.example.com')
  t.equal(resolveOptions({ allowedOrigins: check }).allowedOrigins, check)
})

t.test('refused: FST_SIO_SESSION_BAD_OPTION naming the fix', async (t) => {
  const known = 'auth, query, requireSession, autoSave, cookieName, cookiePrefix, allowedOrigins, allowMissingOrigin, allowJsonp, errorEvent, rolling, touchAfter, checkInterval, revalidateInterval, storeTimeout, events'
  const boolean = (name: string): string => `option "${name}" must be a boolean`
  const ms = (name: string): string => `option "${name}" must be a number of milliseconds from 1 to 2147483647`
  const schema = (name: string): string => `option "${name}" must be a TypeBox schema, e.g. Type.Object({ ... })`
  const origins = 'option "allowedOrigins" must be an array of origins such as "https://app.example.com", or a function'
  const entry = (origin: string): string => `allowedOrigins entry "${origin}" is not an origin such as "https://app.example.com"`
  const scheme = (origin: string): string => `allowedOrigins entry "${origin}" is not an http(s) origin such as "https://app.example.com"`
  const limit = '"events.rateLimit" must be { max, timeWindow }: whole numbers of events and of ms, at least 1'
  const rows: Array<{ name: string, input: Record<string, unknown>, message: string }> = [
    { name: 'an unknown option', input: { foo: 1 }, message: `unknown option "foo"; known options are ${known}` },
    { name: 'a misspelt option', input: { allowedOrigin: [] }, message: 'unknown option "allowedOrigin"' },
    { name: 'requireSession: "yes"', input: { requireSession: 'yes' }, message: boolean('requireSession') },
    { name: 'autoSave: 1', input: { autoSave: 1 }, message: boolean('autoSave') },
    { name: 'allowMissingOrigin: null', input: { allowMissingOrigin: null }, message: boolean('allowMissingOrigin') },
    { name: 'allowJsonp: "true"', input: { allowJsonp: 'true' }, message: boolean('allowJsonp') },
    { name: 'rolling: 0', input: { rolling: 0 }, message: boolean('rolling') },
    { name: 'cookieName: ""', input: { cookieName: '' }, message: 'option "cookieName" must be a non-empty string' },
    { name: 'cookieName: 1', input: { cookieName: 1 }, message: 'option "cookieName" must be a non-empty string' },
    { name: 'cookiePrefix: null', input: { cookiePrefix: null }, message: 'option "cookiePrefix" must be a string' },
    { name: 'errorEvent: ""', input: { errorEvent: '' }, message: 'option "errorEvent" must be a non-empty string' },
    { name: 'touchAfter: 0', input: { touchAfter: 0 }, message: ms('touchAfter') },
    { name: 'checkInterval: -1', input: { checkInterval: -1 }, message: ms('checkInterval') },
    { name: 'revalidateInterval: 2^31', input: { revalidateInterval: 2 ** 31 }, message: ms('revalidateInterval') },
    { name: 'storeTimeout: NaN', input: { storeTimeout: NaN }, message: ms('storeTimeout') },
    { name: 'storeTimeout: Infinity', input: { storeTimeout: Infinity }, message: ms('storeTimeout') },
    { name: 'checkInterval: "1000"', input: { checkInterval: '1000' }, message: ms('checkInterval') },
    { name: 'auth: "x"', input: { auth: 'x' }, message: schema('auth') },
    { name: 'auth: null', input: { auth: null }, message: schema('auth') },
    { name: 'query: []', input: { query: [] }, message: schema('query') },
    { name: 'allowedOrigins: a string', input: { allowedOrigins: 'https://app.example.com' }, message: origins },
    { name: 'allowedOrigins: [1]', input: { allowedOrigins: [1] }, message: origins },
    { name: 'allowedOrigins: a host without a scheme', input: { allowedOrigins: ['app.example.com'] }, message: entry('app.example.com') },
    { name: 'allowedOrigins: ""', input: { allowedOrigins: ['https://ok.example', ''] }, message: entry('') },
    { name: 'allowedOrigins: a scheme alone', input: { allowedOrigins: ['https://'] }, message: entry('https://') },
    { name: 'allowedOrigins: a host and port without a scheme', input: { allowedOrigins: ['localhost:3000'] }, message: scheme('localhost:3000') },
    { name: 'allowedOrigins: a WebSocket URL', input: { allowedOrigins: ['ws://app.example.com'] }, message: scheme('ws://app.example.com') },
    { name: 'allowedOrigins: a file URL', input: { allowedOrigins: ['file:///index.html'] }, message: scheme('file:///index.html') },
    { name: 'events: null', input: { events: null }, message: 'option "events" must be an object' },
    { name: 'events: []', input: { events: [] }, message: 'option "events" must be an object' },
    { name: 'events: "x"', input: { events: 'x' }, message: 'option "events" must be an object' },
    { name: 'events: an unknown option', input: { events: { foo: 1 } }, message: 'unknown option "events.foo"; known are preHandler, onError, rateLimit, keyGenerator, unknownEvent, errorEvent, validateAck, validateEmits' },
    { name: 'events.unknownEvent: "drop"', input: { events: { unknownEvent: 'drop' } }, message: 'option "events.unknownEvent" must be "ignore" or "reply"' },
    { name: 'events.errorEvent: ""', input: { events: { errorEvent: '' } }, message: 'option "events.errorEvent" must be a non-empty string' },
    { name: 'events.errorEvent: null', input: { events: { errorEvent: null } }, message: 'option "events.errorEvent" must be a non-empty string' },
    { name: 'events.validateAck: "yes"', input: { events: { validateAck: 'yes' } }, message: 'option "events.validateAck" must be a boolean' },
    { name: 'events.keyGenerator: "ip"', input: { events: { keyGenerator: 'ip' } }, message: 'option "events.keyGenerator" must be a function (socket) => string' },
    { name: 'events.preHandler: "x"', input: { events: { preHandler: 'x' } }, message: '"events.preHandler" must be a function or an array of functions' },
    { name: 'events.onError: [fn, 1]', input: { events: { onError: [fn, 1] } }, message: '"events.onError" must be a function or an array of functions' },
    { name: 'events.rateLimit: max 0', input: { events: { rateLimit: { max: 0, timeWindow: 1000 } } }, message: limit },
    { name: 'events.rateLimit: max 1.5', input: { events: { rateLimit: { max: 1.5, timeWindow: 1000 } } }, message: limit },
    { name: 'events.rateLimit: no timeWindow', input: { events: { rateLimit: { max: 5 } } }, message: limit },
    { name: 'events.rateLimit: timeWindow -1', input: { events: { rateLimit: { max: 5, timeWindow: -1 } } }, message: limit },
    { name: 'events.rateLimit: max 2^31', input: { events: { rateLimit: { max: 2 ** 31, timeWindow: 1 } } }, message: limit },
    { name: 'events.rateLimit: null', input: { events: { rateLimit: null } }, message: limit },
    { name: 'events.rateLimit: "5/s"', input: { events: { rateLimit: '5/s' } }, message: limit }
  ]
  for (const { name, input, message } of rows) {
    t.throws(() => resolveOptions(input), { code: 'FST_SIO_SESSION_BAD_OPTION', message: `fastify-socket.io-session: ${message}` }, name)
  }
  const err = t.throws(() => resolveOptions({ rolling: 'no' }))
  t.ok(err instanceof FST_SIO_SESSION_BAD_OPTION && err instanceof TypeError, 'a TypeError of its own class')
  const env = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.equal(resolveEvents(undefined, (message) => { throw new Error(message) }).validateEmits, false, 'validateEmits is off by default in production')
  if (env === undefined) delete process.env.NODE_ENV
  else process.env.NODE_ENV = env
  t.equal(resolveEvents({ validateEmits: false }, (message) => { throw new Error(message) }).validateEmits, false)
  t.throws(() => resolveEvents({ validateAck: 0 }, (message) => { throw new RangeError(message) }), new RangeError('option "events.validateAck" must be a boolean'), 'resolveEvents throws through the bad() it is given')
})

t.test('a hook that takes done is called as one that returns a promise', async (t) => {
  const [plain] = resolveOptions({ events: { preHandler: fn } }).events.preHandler
  t.equal(plain, fn, 'a hook without done is kept as it is')
  const wrap = (hook: (...args: unknown[]) => unknown): Hook => {
    const [wrapped] = resolveOptions({ events: { preHandler: hook } }).events.preHandler
    if (wrapped === undefined) throw new Error('expected a hook')
    return wrapped
  }
  const seen: unknown[] = []
  const withDone = (_socket: unknown, value: unknown, event: unknown, done: unknown): void => { seen.push(value, event); (done as () => void)() }
  const ok = wrap(withDone)
  t.not(ok, withDone, 'a hook with done is wrapped')
  t.equal(await ok(socket, 'payload', 'send'), undefined, 'done() resolves')
  t.strictSame(seen, ['payload', 'send'], 'with the value and event')
  const failing = wrap((_socket, _value, _event, done) => { (done as (err: Error) => void)(new Error('no')) })
  await t.rejects(Promise.resolve(failing(socket, 1, 'send')), { message: 'no' }, 'done(err) rejects')
  const promised = wrap(async (_socket, _value, _event, _done) => await Promise.reject(new Error('async no')))
  await t.rejects(Promise.resolve(promised(socket, 1, 'send')), { message: 'async no' }, 'an async hook may skip done')
})
