import t from 'tap'
import fc from 'fast-check'
import { Type } from 'typebox'
import { call, startApp } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Hostile input, generated: the server stays up and answers ----

/** Inputs thrown at the server by each property. */
const RUNS = 1000

/** Codes a refused handshake may carry. */
const refusals = new Set(['ORIGIN_NOT_ALLOWED', 'INVALID_AUTH', 'INVALID_QUERY', 'SESSION_REQUIRED', 'SESSION_STORE_ERROR'])

/** Server-side values waiting to be put in a session, by index. */
const values: unknown[] = []

/** A server with handshake schemas, event routes, and listeners that put whatever they get into the session. */
function server (app: any): void {
  app.io.on('connection', (socket: any) => {
    socket.on('keep', (payload: unknown, ack?: (v: unknown) => void) => {
      socket.session.kept = payload
      if (typeof ack === 'function') ack('kept')
    })
    socket.on('put', async (index: number, ack: (v: unknown) => void) => {
      await Promise.resolve()
      socket.session[`value${index % 3}`] = values[index]
      ack('put')
    })
    socket.on('ping', (ack: (v: unknown) => void) => ack('pong'))
  })
  app.io.event('typed', { schema: { payload: Type.Object({ text: Type.String({ maxLength: 50 }), n: Type.Optional(Type.Number()) }) } }, (socket: any, payload: any) => {
    socket.session.typed = payload
    return 'typed'
  })
  app.io.event('free', { schema: { payload: Type.Any() } }, (socket: any, payload: unknown) => {
    socket.session.free = payload
    return 'free'
  })
}

/** Values nested far deeper than any stack: JSON.parse reads them, JSON.stringify cannot write them. */
const deep = fc.integer({ min: 1000, max: 6000 }).map((depth) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`))

/** Values JSON cannot write, or writes badly, made on the server. */
const serverValues = fc.oneof(
  fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withObjectString: true }),
  deep,
  fc.constant(null).map(() => { const loop: any = { a: [] }; loop.a.push(loop); return loop }),
  fc.string().map((text) => ({ toJSON () { throw new Error(text) } })),
  fc.string().map((text) => Object.defineProperty({}, 'boom', { enumerable: true, get () { throw new Error(text) } }))
)

/** What a client may send as a payload: any JSON, deep nesting, prototype keys, long strings. */
const payloads = fc.oneof(
  fc.jsonValue(),
  deep,
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'text', 'n'), fc.jsonValue()),
  fc.string({ minLength: 10_000, maxLength: 200_000 })
)

t.test('hostile handshakes, payloads and session values: no crash, every input answered, the server answers after', async (t) => {
  const store = new FakeStore()
  const { login, connected, client } = await startApp(t, {
    session: { store },
    plugin: { auth: Type.Object({ token: Type.String({ maxLength: 20 }) }), query: Type.Object({ room: Type.Integer({ default: 1 }) }) },
    setup: server
  })
  const cookie = await login()
  let inputs = 0

  // Handshakes: any JSON as auth, any query, any printable cookie and origin.
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 })
  await fc.assert(fc.asyncProperty(fc.jsonValue(), fc.dictionary(printable, printable, { maxKeys: 5 }), printable, fc.option(printable), async (auth, query, rawCookie, origin) => {
    inputs++
    const socket = client({ auth: auth as object, query, extraHeaders: { cookie: rawCookie, ...(origin === null ? {} : { origin }) } })
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no answer'), 5000)
      socket.once('connect', () => { clearTimeout(timer); resolve('connected') })
      socket.once('connect_error', (err: any) => { clearTimeout(timer); resolve(err.data?.code ?? err.message) })
      // A CONNECT packet whose auth is not an object is a protocol error: the server closes the connection.
      socket.once('disconnect', (reason: string) => { clearTimeout(timer); resolve(reason) })
      socket.connect()
    })
    socket.disconnect()
    // A query naming Engine.IO's own `j` (JSONP) is refused with a 403 before any handshake: a transport error.
    return outcome === 'connected' || refusals.has(outcome) || outcome === 'transport close' || (outcome === 'websocket error' && Object.hasOwn(query, 'j'))
  }), { numRuns: RUNS })

  // Event payloads, sent as raw packets (no client library encodes 6,000 levels), to routes and listeners.
  const socket = await connected({ auth: { token: 't' }, extraHeaders: { cookie } })
  const engine = (socket.io as any).engine
  await fc.assert(fc.asyncProperty(fc.constantFrom('keep', 'typed', 'free', 'unknown', 'put'), payloads, async (event, payload) => {
    inputs++
    let text: string
    try {
      text = JSON.stringify(payload)
    } catch {
      text = deepText(payload)
    }
    engine.write(`2[${JSON.stringify(event)},${text}]`)
    return await call(socket, 'ping') === 'pong'
  }), { numRuns: RUNS })

  // Values a listener puts in the session: each event is answered (after SESSION_SAVE_FAILED where it cannot be saved).
  await fc.assert(fc.asyncProperty(serverValues, async (value) => {
    inputs++
    values.push(value)
    return await call(socket, 'put', values.length - 1) === 'put' && await call(socket, 'ping') === 'pong'
  }), { numRuns: RUNS })

  t.equal(inputs, 3 * RUNS, `${inputs} hostile inputs`)
  t.equal(await call(socket, 'ping'), 'pong', 'the server still answers')
  for (const stored of store.store.values()) t.doesNotThrow(() => JSON.stringify(stored), 'the store holds only what JSON can write')
})

/** The text of an array too deep for JSON.stringify: written by hand. */
function deepText (value: unknown): string {
  let depth = 0
  let inner = value
  while (Array.isArray(inner)) { depth++; inner = inner[0] }
  return `${'['.repeat(depth)}${JSON.stringify(inner)}${']'.repeat(depth)}`
}
