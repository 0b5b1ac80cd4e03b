import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { call, startApp, type MaybeError } from './helpers.js'

// ---- What clients may send to a route: payloads checked before any handler runs ----

const Message = Type.Object({
  room: Type.String({ maxLength: 20 }),
  text: Type.String({ maxLength: 1000 }),
  tags: Type.Optional(Type.Array(Type.String()))
})
const Strict = Type.Object({ name: Type.String() }, { additionalProperties: false })
const Loose = Type.Object({ name: Type.String() })
const WithDefault = Type.Object({ name: Type.String(), color: Type.String({ default: 'blue' }) })

/** Each handler records what it was given. */
function routes (received: unknown[]) {
  return (app: FastifyInstance): void => {
    const keep = (_socket: unknown, payload: unknown): unknown => { received.push(payload); return payload }
    app.io.event('message', { schema: { payload: Message } }, keep)
    app.io.event('strict', { schema: { payload: Strict } }, keep)
    app.io.event('loose', { schema: { payload: Loose } }, keep)
    app.io.event('defaults', { schema: { payload: WithDefault } }, keep)
    app.io.event('none', () => 'none')
    app.io.event('any', { schema: { payload: Type.Any() } }, (_socket, payload) => { received.push(payload); return Object.keys(payload ?? {}).length })
    app.io.event('upload', { schema: { payload: Type.Any() }, allowBinary: true }, (_socket, payload) => Buffer.isBuffer(payload) ? payload.length : -1)
  }
}

async function setup (t: { teardown: (fn: () => unknown) => void }): Promise<{ socket: Awaited<ReturnType<Awaited<ReturnType<typeof startApp>>['connected']>>, received: unknown[] }> {
  const received: unknown[] = []
  const { connected } = await startApp(t, { setup: routes(received) })
  return { socket: await connected(), received }
}

const invalid = (errors: unknown): unknown => ({ error: { code: 'INVALID_PAYLOAD', message: 'invalid payload', errors } })

t.test('wrong types and missing fields: each problem with its path, never the value', async (t) => {
  const { socket, received } = await setup(t)
  t.same(await call(socket, 'message', { room: 5, text: 'x' }), invalid([{ path: '/room', message: 'must be string' }]))
  t.same(await call(socket, 'message', { text: 'x' }), invalid([{ path: '', message: 'must have required properties room' }]))
  t.same(await call(socket, 'message', 'just a string'), invalid([{ path: '', message: 'must be object' }]))
  t.same(await call(socket, 'message', null), invalid([{ path: '', message: 'must be object' }]))
  t.same(await call(socket, 'message', { room: 'a', text: 'x', tags: [1, 'b', 3] }), invalid([{ path: '/tags/0', message: 'must be string' }, { path: '/tags/2', message: 'must be string' }]))
  t.same(received, [], 'no handler ran')
  t.same(await call(socket, 'message', { room: 'a', text: 'fine' }), { room: 'a', text: 'fine' })
})

t.test('at most five problems are reported', async (t) => {
  const { socket } = await setup(t)
  const reply = await call<Required<MaybeError>>(socket, 'message', { room: 'a', text: 'x', tags: Array.from({ length: 50 }, (_, i) => i) })
  t.equal(reply.error.errors?.length, 5)
})

t.test('the argument count: one payload with a schema, none without', async (t) => {
  const { socket, received } = await setup(t)
  t.same(await call(socket, 'message', { room: 'a', text: 'x' }, 'extra'), invalid([{ path: '', message: 'expected one payload argument, got 2' }]))
  t.same(await call(socket, 'message'), invalid([{ path: '', message: 'must be object' }]), 'a missing payload is checked as undefined')
  t.same(await call(socket, 'none', { sneaky: true }), invalid([{ path: '', message: 'this event takes no payload' }]))
  t.same(received, [])
})

t.test('extra keys: refused by additionalProperties: false, passed through otherwise', async (t) => {
  const { socket } = await setup(t)
  t.same(await call(socket, 'strict', { name: 'a', admin: true }), invalid([{ path: '/admin', message: 'schema is false' }, { path: '', message: 'must not have additional properties' }]))
  t.same(await call(socket, 'loose', { name: 'a', admin: true }), { name: 'a', admin: true })
})

t.test('schema defaults are applied', async (t) => {
  const { socket } = await setup(t)
  t.same(await call(socket, 'defaults', { name: 'a' }), { name: 'a', color: 'blue' })
  t.same(await call(socket, 'defaults', { name: 'a', color: 'red' }), { name: 'a', color: 'red' })
})

t.test('prototype-polluting keys are refused wherever they are, and pollute nothing', async (t) => {
  const { socket, received } = await setup(t)
  const proto = JSON.parse('{ "name": "a", "__proto__": { "polluted": true } }')
  t.same(await call(socket, 'loose', proto), invalid([{ path: '/__proto__', message: 'key not allowed' }]))
  t.same(await call(socket, 'any', { deep: [{ constructor: { prototype: { polluted: true } } }] }), invalid([{ path: '/deep/0/constructor', message: 'key not allowed' }]))
  t.same(await call(socket, 'message', { room: 'a', text: 'x', tags: [], prototype: 1 }), invalid([{ path: '/prototype', message: 'key not allowed' }]))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.same(received, [])
})

t.test('deep nesting is refused before it is walked', async (t) => {
  const { socket } = await setup(t)
  let deep: unknown = 'bottom'
  for (let i = 0; i < 100; i++) deep = { d: deep }
  const reply = await call<Required<MaybeError>>(socket, 'any', deep)
  t.equal(reply.error.code, 'INVALID_PAYLOAD')
  t.equal(reply.error.errors?.[0].message, 'nested deeper than 64 levels')
})

t.test('huge strings are refused by the schema, and the reply stays small', async (t) => {
  const { socket, received } = await setup(t)
  const huge = 'x'.repeat(900_000)
  const reply = await call(socket, 'message', { room: 'a', text: huge })
  t.same(reply, invalid([{ path: '/text', message: 'must not have more than 1000 characters' }]))
  t.ok(JSON.stringify(reply).length < 200, 'the value is not echoed')
  const keyed = await call<Required<MaybeError>>(socket, 'strict', { name: 'a', ['k'.repeat(10_000)]: 1 })
  t.equal(keyed.error.code, 'INVALID_PAYLOAD')
  t.ok(JSON.stringify(keyed).length < 400, 'a huge key is cut short in the path')
  t.same(received, [])
})

t.test('binary where JSON is expected is refused; a route may allow it', async (t) => {
  const { socket, received } = await setup(t)
  t.same(await call(socket, 'loose', Buffer.from('not json')), invalid([{ path: '', message: 'binary data not allowed' }]), 'a Buffer would pass Type.Object')
  t.same(await call(socket, 'message', { room: 'a', text: new Uint8Array([1, 2]) }), invalid([{ path: '/text', message: 'binary data not allowed' }]))
  t.same(await call(socket, 'any', { file: new ArrayBuffer(8) }), invalid([{ path: '/file', message: 'binary data not allowed' }]))
  t.same(received, [])
  t.equal(await call(socket, 'upload', Buffer.alloc(300_000)), 300_000, 'allowBinary: true lets it through')
})
