import t from 'tap'
import { Server } from 'socket.io'
import { Type } from 'typebox'
import { fullApp, registrationError } from './helpers.js'

// ---- Route and `events` option errors: thrown when the route is added, naming the fix ----

/** The error that registering the plugin with `options`, then `run`, then ready() threw, if any. */
async function withApp (options: unknown, run: (app: any) => void | Promise<void>): Promise<unknown> {
  return await registrationError(async (app) => {
    await fullApp(options)(app)
    await run(app)
  })
}

const handler = (): string => 'ok'

t.test('bad routes', async (t) => {
  const cases: Array<[unknown[], RegExp]> = [
    [['', handler], /needs a non-empty event name/],
    [[42, handler], /needs a non-empty event name/],
    [['disconnect', handler], /"disconnect" is a reserved Socket.IO event/],
    [['chat'], /event "chat" needs a handler function/],
    [['chat', {}, 'handler'], /event "chat" needs a handler function/],
    [['chat', null, handler], /the options of event "chat" must be an object/],
    [['chat', [], handler], /the options of event "chat" must be an object/],
    [['chat', { prehandler: [] }, handler], /unknown option "prehandler" of event "chat"; known are schema, preHandler/],
    [['chat', { schema: 'Type.String()' }, handler], /"schema" of event "chat" must be \{ payload\?, ack\? \}/],
    [['chat', { schema: { body: Type.String() } }, handler], /unknown schema "body" of event "chat"; known are payload, ack/],
    [['chat', { schema: { payload: 'string' } }, handler], /schema "payload" of event "chat" must be a TypeBox schema/],
    [['chat', { schema: { payload: Type.String({ pattern: '(' }) } }, handler], /the payload schema of event "chat" is not a valid TypeBox schema/],
    [['chat', { schema: { ack: Type.String({ pattern: '(' }) } }, handler], /the ack schema of event "chat" is not a valid TypeBox schema/],
    [['chat', { preHandler: 'auth' }, handler], /"preHandler of event "chat"" must be a function or an array of functions/],
    [['chat', { onError: [handler, 1] }, handler], /"onError of event "chat"" must be a function or an array of functions/],
    [['chat', { rateLimit: { max: 0, timeWindow: 1000 } }, handler], /"rateLimit of event "chat"" must be \{ max, timeWindow \}/],
    [['chat', { rateLimit: { max: 1.5, timeWindow: 1000 } }, handler], /must be \{ max, timeWindow \}/],
    [['chat', { rateLimit: null }, handler], /must be \{ max, timeWindow \}/],
    [['chat', { rateLimit: 5 }, handler], /must be \{ max, timeWindow \}/],
    [['chat', { allowBinary: 'yes' }, handler], /"allowBinary" of event "chat" must be a boolean/]
  ]
  for (const [args, message] of cases) {
    const err = await withApp({}, (app) => app.io.event(...args))
    t.match(err, { code: 'FST_SIO_SESSION_BAD_ROUTE', message }, String(args[0]))
  }
})

t.test('one route per event and namespace', async (t) => {
  const err = await withApp({}, (app) => {
    app.io.event('chat', handler)
    app.io.of('/other').event('chat', handler)
    app.io.event('chat', handler)
  })
  t.match(err, { code: 'FST_SIO_SESSION_BAD_ROUTE', message: /event "chat" already has a route on namespace "\/"/ })
})

t.test('a route returns what it registered, frozen', async (t) => {
  await withApp({}, (app) => {
    const route = app.io.event('chat', { schema: { payload: Type.String() } }, handler)
    t.same(route, { event: 'chat', namespace: '/' })
    t.ok(Object.isFrozen(route))
  })
})

t.test('a Socket.IO server without the plugin cannot take routes', async (t) => {
  await withApp({}, () => {
    const other = new Server()
    t.throws(() => other.of('/x').event('chat', handler), { code: 'FST_SIO_SESSION_BAD_ROUTE', message: /register fastify-socket.io-session on this Socket.IO server/ })
  })
})

t.test('bad events options', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ events: 'all' }, /option "events" must be an object/],
    [{ events: null }, /option "events" must be an object/],
    [{ events: { unknown: 'reply' } }, /unknown option "events.unknown"; known are preHandler, onError/],
    [{ events: { unknownEvent: 'drop' } }, /"events.unknownEvent" must be "ignore" or "reply"/],
    [{ events: { errorEvent: '' } }, /"events.errorEvent" must be a non-empty string/],
    [{ events: { validateAck: 'dev' } }, /"events.validateAck" must be a boolean/],
    [{ events: { preHandler: [null] } }, /"events.preHandler" must be a function or an array of functions/],
    [{ events: { onError: {} } }, /"events.onError" must be a function/],
    [{ events: { rateLimit: { max: 10 } } }, /"events.rateLimit" must be \{ max, timeWindow \}/],
    [{ events: { keyGenerator: 'ip' } }, /"events.keyGenerator" must be a function \(socket\) => string/]
  ]
  for (const [options, message] of cases) {
    const err = await withApp(options, () => {})
    t.match(err, { code: 'FST_SIO_SESSION_BAD_OPTION', message }, JSON.stringify(options))
  }
})
