import t from 'tap'
import { Parser } from '@asyncapi/parser'
import fc from 'fast-check'
import Fastify from 'fastify'
import { Type, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { ClientCodes, type AsyncApiDocument } from '../plugin/index.js'
import { call, fullApp, next, registrationError, startApp } from './helpers.js'

// ---- The AsyncAPI document: valid AsyncAPI 3.0, and true to the routes, the handshake and the errors ----

const parser = new Parser()

/** What @asyncapi/parser finds wrong with a document: its errors and warnings (information and hints left out). */
async function problems (document: unknown): Promise<string[]> {
  const { diagnostics } = await parser.parse(document as Parameters<Parser['parse']>[0])
  return diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`)
}

/** The value a local `$ref` points at, with every `$ref` inside resolved too (the document has no cycles). */
function resolved (doc: unknown, value: unknown): any {
  if (Array.isArray(value)) return value.map((item) => resolved(doc, item))
  if (value === null || typeof value !== 'object') return value
  const { $ref, ...rest } = value as Record<string, unknown>
  if (typeof $ref === 'string') {
    const target = $ref.slice(2).split('/').reduce<any>((at, key) => at[key], doc)
    return resolved(doc, { ...target, ...rest })
  }
  return Object.fromEntries(Object.entries(rest).map(([key, item]) => [key, resolved(doc, item)]))
}

/** A schema as JSON carries it (what the document holds: TypeBox's own non-enumerable keys left out). */
const asJson = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema))

/** The operations of a document, resolved, each with its id and its channel's id. */
function operationsOf (doc: AsyncApiDocument): Array<Record<string, any> & { id: string, channelId: string }> {
  return Object.entries(doc.operations).map(([id, operation]) => ({ id, channelId: (operation.channel as { $ref: string }).$ref.split('/')[2], ...resolved(doc, operation) }))
}

const Auth = Type.Object({ token: Type.String({ minLength: 3 }) })
const Query = Type.Object({ room: Type.Optional(Type.String({ default: 'lobby' })) })
const Message = Type.Object({ text: Type.String({ minLength: 1, maxLength: 500 }), to: Type.Optional(Type.String()) })
const Sent = Type.Object({ id: Type.Integer(), at: Type.String({ format: 'date-time' }) })
const Line = Type.Object({ from: Type.String(), text: Type.String() })
const Kick = Type.Object({ user: Type.String() })

/** The routes and server events of the app below, as [namespace, event, options]. */
const routes: Array<[string | RegExp, string, Record<string, any>]> = [
  ['/', 'chat:send', { schema: { payload: Message, ack: Sent }, summary: 'Send a message', description: 'Posts **one** message to the room.', tags: ['chat', { name: 'messages', description: 'What users write' }] }],
  ['/', 'ping', {}],
  ['/', 'handshake', { schema: { payload: Type.String() } }],
  ['/', 'a/b~c d', { schema: { ack: Type.Boolean() } }],
  ['/admin', 'kick', { schema: { payload: Kick, summary: 'Kick a user', tags: ['admin', { name: 'ops' }], deprecated: true }, rateLimit: { max: 5, timeWindow: 1000 } }],
  [/^\/room-\d+$/, 'say', { schema: { payload: Type.String() } }]
]
const serverEvents: Array<[string, string, Record<string, any>]> = [
  ['/', 'chat:line', { schema: Line, summary: 'A message someone sent', tags: ['chat'] }],
  ['/', 'chat:send', { schema: Type.Null(), description: 'The same name as a route' }],
  ['/admin', 'notice', { deprecated: true }]
]

/** An app with every kind of thing the document describes. */
async function documentedApp (t: Parameters<typeof startApp>[0], plugin: Record<string, unknown> = {}) {
  return await startApp(t, {
    session: { cookieName: 'sid' },
    plugin: {
      cookieName: 'sid',
      auth: Auth,
      query: Query,
      requireSession: true,
      events: { errorEvent: 'failed' },
      errorEvent: 'session:ended',
      asyncapi: {
        info: { title: 'Chat', version: '2.1.0', license: { name: 'MIT' } },
        servers: { local: { host: '127.0.0.1:3000', protocol: 'ws', pathname: '/socket.io' }, open: { host: 'example.com', protocol: 'wss', security: [] } },
        path: '/asyncapi.json'
      },
      ...plugin
    },
    setup: (app) => {
      for (const [nsp, event, options] of routes) app.io.of(nsp).event(event, options, () => ({ id: 1, at: new Date().toISOString() }))
      for (const [nsp, event, options] of serverEvents) app.io.of(nsp).serverEvent(event, options)
      app.io.of((name, _auth, next) => next(null, name.startsWith('/fn-'))).serverEvent('tick')
    }
  })
}

t.test('the document is valid AsyncAPI 3.0: no errors, no warnings', async (t) => {
  const { app } = await documentedApp(t)
  const doc = app.io.asyncapi()
  t.equal(doc.asyncapi, '3.0.0')
  t.same(await problems(doc), [])
  t.same(doc.info, { description: doc.info.description, title: 'Chat', version: '2.1.0', license: { name: 'MIT' } }, 'info as given, with a description of the mapping')
  t.match(doc.info.description, /Each channel is a namespace/)
})

t.test('each route is a receive operation whose payload and reply are its schemas, described as given', async (t) => {
  const { app } = await documentedApp(t)
  const doc = app.io.asyncapi()
  const operations = operationsOf(doc)
  for (const [nsp, event, options] of routes) {
    const channel = typeof nsp === 'string' ? nsp : null
    const found = operations.filter((o) => o.action === 'receive' && o.channel.address === channel && o.messages[0].name === event)
    t.equal(found.length, 1, `${String(nsp)} ${event}: one operation`)
    const [operation] = found
    const { schema = {} } = options
    const [ack, errorReply] = operation.reply.messages
    t.same(operation.messages[0].payload, schema.payload && asJson(schema.payload), `${event}: the payload schema is the route's`)
    t.same(ack.payload, schema.ack && asJson(schema.ack), `${event}: the ack schema is the route's`)
    t.same(errorReply.payload, resolved(doc, { $ref: '#/components/schemas/ClientErrorReply' }), `${event}: an error reply`)
    t.equal(operation.summary, options.summary ?? schema.summary, `${event}: summary`)
    t.equal(operation.description, options.description, `${event}: description`)
    t.same(operation.tags, (options.tags ?? schema.tags)?.map((tag: any) => typeof tag === 'string' ? { name: tag } : tag), `${event}: tags`)
    t.equal(operation.messages[0].deprecated, schema.deprecated, `${event}: deprecated`)
  }
  const dynamic = Object.values(doc.channels).filter((channel) => channel.address === null)
  t.same(dynamic.map((c) => c.description), ['Every namespace whose name matches `/^\\/room-\\d+$/` (`io.of(/^\\/room-\\d+$/)`).', 'Every namespace whose name a function accepts (`io.of(fn)`).'])
})

t.test('each server event is a send operation with its schema; every channel has its handshake and errors', async (t) => {
  const { app } = await documentedApp(t)
  const doc = app.io.asyncapi()
  const operations = operationsOf(doc)
  for (const [nsp, event, options] of serverEvents) {
    const [operation, ...more] = operations.filter((o) => o.action === 'send' && o.channel.address === nsp && o.messages[0].name === event)
    t.equal(more.length, 0, `${event}: one operation`)
    t.same(operation.messages[0].payload, options.schema && asJson(options.schema), `${nsp} ${event}: the payload schema is the declared one`)
    t.equal(operation.summary, options.summary)
    t.equal(operation.messages[0].deprecated, options.deprecated)
  }
  for (const [id, channel] of Object.entries(doc.channels)) {
    const own = operations.filter((o) => o.channelId === id)
    const names = (action: string) => own.filter((o) => o.action === action).map((o) => o.messages[0].name)
    t.ok(names('receive').includes('connect'), `${id}: a handshake`)
    t.ok(names('send').includes('session:ended'), `${id}: the session error event`)
    const hasRoutes = names('receive').length > 1
    t.equal(names('send').includes('failed'), hasRoutes, `${id}: the event error event where there are routes`)
    t.same((channel.bindings as any).ws.query, asJson(Query), `${id}: the query schema`)
  }
  const [handshake] = operations.filter((o) => o.messages[0].name === 'connect')
  t.same(handshake.messages[0].payload, asJson(Auth), 'the auth schema is the handshake\'s payload')
  t.same(handshake.security, [{ type: 'httpApiKey', in: 'cookie', name: 'sid', description: (doc.components.securitySchemes.sessionCookie as any).description }])
  t.match(handshake.security[0].description, /required/)
  t.same(doc.servers?.local.security, [{ $ref: '#/components/securitySchemes/sessionCookie' }], 'a server gets the session cookie as its security')
  t.same(doc.servers?.open.security, [], 'unless it has its own')
})

t.test('the error schemas match what clients really get', async (t) => {
  const { app, login, connected, url } = await documentedApp(t, { asyncapi: undefined, requireSession: false })
  const doc = app.io.asyncapi()
  const check = (name: string, value: unknown): boolean => Compile(resolved(doc, { $ref: `#/components/schemas/${name}` })).Check(value)
  t.same((doc.components.schemas.ClientCode as any).enum, Object.keys(ClientCodes), 'every code')
  const refused = await connected({ auth: { token: 'x' } }).then(() => undefined, (err: { data: unknown }) => err.data)
  t.match(refused, { code: 'INVALID_AUTH' })
  t.ok(check('ClientErrorBody', refused), 'a refused handshake\'s err.data')
  const cookie = await login()
  const socket = await connected({ auth: { token: 'abc' }, extraHeaders: { cookie } })
  const invalid = await call(socket, 'chat:send', { text: '' })
  t.match(invalid, { error: { code: 'INVALID_PAYLOAD', errors: [{ path: '/text' }] } })
  t.ok(check('ClientErrorReply', invalid), 'an INVALID_PAYLOAD reply')
  const admin = await connected({ auth: { token: 'abc' }, extraHeaders: { cookie } }, '/admin')
  const replies = await Promise.all(Array.from({ length: 6 }, async () => await call(admin, 'kick', { user: 'x' })))
  t.match(replies[5], { error: { code: 'RATE_LIMITED', retryAfter: Number } })
  t.ok(check('ClientErrorReply', replies[5]), 'a RATE_LIMITED reply')
  const failed = next(socket, 'failed')
  socket.emit('chat:send', 'not an object')
  t.ok(check('EventErrorMessage', await failed), 'the error of an event sent without an ack')
  const ended = next(socket, 'session:ended')
  await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } })
  t.ok(check('SessionErrorPayload', await ended), 'the session error event')
  t.notOk(check('ClientErrorBody', { code: 'X' }), 'and the schemas can refuse (no message)')
})

t.test('asyncapi.path serves the document as JSON; routes added later are in it; each call is a new copy', async (t) => {
  const { app } = await documentedApp(t)
  const served = await app.inject({ method: 'GET', url: '/asyncapi.json' })
  t.equal(served.statusCode, 200)
  t.match(served.headers['content-type'], /^application\/json/)
  t.same(served.json(), app.io.asyncapi())
  app.io.of('/late').event('hello', { schema: { payload: Type.String() } }, () => 'hi')
  const late = (await app.inject({ method: 'GET', url: '/asyncapi.json' })).json() as AsyncApiDocument
  t.ok(late.channels.late, 'a namespace routed after listen')
  const doc = app.io.asyncapi()
  ;(doc.channels.main.messages as any).chat_send.payload.properties.text.maxLength = 1
  doc.info.title = 'changed'
  t.equal((app.io.asyncapi().channels.main.messages as any).chat_send.payload.properties.text.maxLength, 500, 'the routes\' schemas are untouched')
  t.equal(app.io.asyncapi().info.title, 'Chat')
})

t.test('without the option: a default title, no servers, nothing served, an optional cookie', async (t) => {
  const { app } = await startApp(t)
  const doc = app.io.asyncapi()
  t.same(await problems(doc), [])
  t.same([doc.info.title, doc.info.version, doc.servers], ['Socket.IO API', '1.0.0', undefined])
  t.same(Object.keys(doc.channels), ['main'], 'the main namespace, without routes')
  t.same(Object.values(doc.operations).map((o) => (o.messages as any)[0].$ref), ['#/channels/main/messages/handshake', '#/channels/main/messages/sessionError'])
  const handshake = resolved(doc, doc.components.messages.handshake)
  t.equal(handshake.payload, undefined, 'no auth schema, no payload')
  t.equal(doc.channels.main.bindings, undefined, 'no query schema, no binding')
  t.match(doc.components.securitySchemes.sessionCookie, { name: 'sessionId', description: /new, empty session/ })
  t.equal((await app.inject({ method: 'GET', url: '/asyncapi.json' })).statusCode, 404)
})

t.test('the cookie prefix is part of the cookie\'s name', async (t) => {
  const { app } = await startApp(t, { session: { cookiePrefix: '__Host-' }, plugin: { cookiePrefix: '__Host-' } })
  t.equal((app.io.asyncapi().components.securitySchemes.sessionCookie as any).name, '__Host-sessionId')
})

t.test('a bad asyncapi option is refused at registration, naming the fix', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /option "asyncapi" must be an object/],
    [{ title: 'x' }, /unknown option "asyncapi.title"; known are info, servers, path/],
    [{ info: { title: 'x' } }, /"asyncapi.info" must be an object with a title and a version/],
    [{ info: { title: '', version: '1' } }, /"asyncapi.info" must be an object with a title and a version/],
    [{ servers: [] }, /"asyncapi.servers" must be an object of servers by name/],
    [{ servers: { prod: { host: 'x' } } }, /server "prod" of option "asyncapi.servers" needs a host and a protocol/],
    [{ path: 'asyncapi.json' }, /"asyncapi.path" must be a path such as "\/asyncapi.json"/]
  ]
  for (const [asyncapi, message] of cases) {
    const err = await registrationError(fullApp({ asyncapi }))
    t.match(err, { code: 'FST_SIO_SESSION_BAD_OPTION', message }, JSON.stringify(asyncapi))
  }
})

t.test('bad descriptions of routes and server events are refused where they are added', async (t) => {
  const { app } = await startApp(t)
  const route = (options: unknown) => () => app.io.event('e', options as never, () => {})
  const cases: Array<[() => unknown, RegExp]> = [
    [route({ summary: 1 }), /"summary" of event "e" must be a string/],
    [route({ schema: { description: false } }), /"description" of event "e" must be a string/],
    [route({ tags: 'chat' }), /"tags" of event "e" must be an array of tags/],
    [route({ tags: [''] }), /each of "tags" of event "e" must be a non-empty string or \{ name, description\? \}/],
    [route({ tags: [{ name: 'x', description: 1 }] }), /each of "tags"/],
    [route({ tags: [null] }), /each of "tags"/],
    [route({ tags: [{ name: '' }] }), /each of "tags"/],
    [route({ tags: [5] }), /each of "tags"/],
    [route({ deprecated: 'yes' }), /"deprecated" of event "e" must be a boolean/],
    [route({ summary: 'a', schema: { summary: 'b' } }), /"summary" of event "e" is given twice, in the options and in "schema"; keep one/],
    [route({ schema: { title: 'x' } }), /unknown schema "title" of event "e"; known are payload, ack \(and summary, description, tags, deprecated\)/],
    [() => app.io.serverEvent('s', { tags: {} } as never), /"tags" of server event "s" must be an array/],
    [() => app.io.serverEvent('s', { title: 'x' } as never), /unknown option "title" of server event "s"; known are schema, summary, description, tags, deprecated/]
  ]
  for (const [add, message] of cases) t.throws(add, { code: 'FST_SIO_SESSION_BAD_ROUTE', message })
  t.same(Object.keys(app.io.asyncapi().operations), ['main.connect', 'main.sessionError'], 'nothing refused was added')
})

t.test('any event and namespace names give a valid document, each event once, under its own name', async (t) => {
  const reserved = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])
  const name = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'handshake', 'sessionError', 'a.b', 'x~1/y', 'main'))
    .filter((event) => !reserved.has(event))
  const names = fc.uniqueArray(name, { minLength: 1, maxLength: 6 })
  await fc.assert(fc.asyncProperty(names, names, fc.uniqueArray(name, { maxLength: 3 }), async (events, declared, spaces) => {
    const app = Fastify()
    try {
      await fullApp({})(app)
      await app.after()
      const namespaces = ['/', ...spaces.map((space) => `/${space}`)]
      for (const nsp of namespaces) {
        for (const event of events) app.io.of(nsp).event(event, { schema: { payload: Type.Object({ text: Type.String({ description: event }) }) } }, () => {})
        for (const event of declared) app.io.of(nsp).serverEvent(event, { schema: Type.Literal(event) })
      }
      await app.ready()
      const doc = app.io.asyncapi()
      t.same(await problems(doc), [], 'valid')
      const operations = operationsOf(doc)
      for (const nsp of new Set(namespaces)) {
        const inChannel = operations.filter((o) => o.channel.address === nsp)
        const received = inChannel.filter((o) => o.action === 'receive' && o.messages[0].name !== 'connect')
        t.same(received.map((o) => o.messages[0].payload), events.map((event) => asJson(Type.Object({ text: Type.String({ description: event }) }))), `${nsp}: every route, with its schema`)
        const sent = inChannel.filter((o) => o.action === 'send' && !['failed', 'error', 'session:error'].includes(o.messages[0].name))
        t.same(sent.map((o) => o.messages[0].name), declared, `${nsp}: every server event`)
      }
    } finally {
      await app.close()
    }
  }), { numRuns: 15 })
})
