import t from 'tap'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import socketio from 'fastify-socket.io'
import { Type } from 'typebox'
import socketSession, { fastifySocketIoSession } from '../plugin/index.js'
import { SECRET, fullApp, registrationError } from './helpers.js'

// ---- Registration errors: thrown at ready(), FST_-prefixed, naming the fix ----

t.test('the named export is the default export', async (t) => {
  t.equal(fastifySocketIoSession, socketSession)
})

t.test('missing dependencies are reported by name', async (t) => {
  const noSession = await registrationError(async (app) => {
    await app.register(cookie)
    await app.register(socketio.default)
    await app.register(socketSession)
  })
  t.match(noSession, { code: /^FST_/, message: /dependency '@fastify\/session' of plugin 'fastify-socket.io-session' is not registered/ })
  const noCookie = await registrationError(async (app) => {
    await app.register(socketio.default)
    await app.register(socketSession)
  })
  t.match(noCookie, { code: /^FST_/, message: /dependency '@fastify\/cookie' of plugin 'fastify-socket.io-session' is not registered/ })
  const noIo = await registrationError(async (app) => {
    await app.register(cookie)
    await app.register(session, { secret: SECRET })
    await app.register(socketSession)
  })
  t.match(noIo, { code: 'FST_SIO_SESSION_NO_SOCKETIO', message: /fastify.io is missing; register fastify-socket.io/ })
})

t.test('an "io" that is not a Socket.IO server', async (t) => {
  const err = await registrationError(async (app) => {
    await app.register(cookie)
    await app.register(session, { secret: SECRET })
    app.decorate('io', {} as FastifyInstance['io'])
    await app.register(socketSession)
  })
  t.match(err, { code: 'FST_SIO_SESSION_NO_SOCKETIO', message: /fastify.io is not a Socket.IO server; register fastify-socket.io/ })
})

t.test('an unsupported session plugin', async (t) => {
  const fakes = [
    (_id: string, request: any, done: () => void) => { request.session = {}; done() },
    (_id: string, _request: any, done: () => void) => { done() }
  ]
  for (const decryptSession of fakes) {
    const err = await registrationError(async (app) => {
      await app.register(cookie)
      await app.register(fp(async (app: any) => { app.decorate('decryptSession', decryptSession) }, { name: '@fastify/session' }))
      await app.register(socketio.default)
      await app.register(socketSession)
    })
    t.match(err, { code: 'FST_SIO_SESSION_UNSUPPORTED_SESSION', message: /@fastify\/session@11/ })
  }
})

t.test('a Fastify whose Request class lacks the protocol and host getters', async (t) => {
  const changes: Array<(app: any, key: symbol) => void> = [
    (app, key) => { delete app[key] },
    (app, key) => { app[key] = undefined },
    (app, key) => { app[key] = class Request {} },
    (app, key) => { app[key] = class Request { get protocol (): string { throw new Error('no raw socket') } } }
  ]
  for (const change of changes) {
    const err = await registrationError(async (app) => {
      await app.register(cookie)
      await app.register(session, { secret: SECRET })
      await app.register(socketio.default)
      // Changed just before the plugin: Fastify itself reads the class while registering encapsulated plugins.
      await app.register(fp(async (app: any) => {
        change(app, Object.getOwnPropertySymbols(app).find((symbol) => symbol.description === 'fastify.Request') as symbol)
      }))
      await app.register(socketSession)
    })
    t.match(err, { code: 'FST_SIO_SESSION_UNSUPPORTED_FASTIFY', message: /install fastify@5/ })
  }
})

t.test('bad options', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ requireSession: 'yes' }, /"requireSession" must be a boolean/],
    [{ autoSave: 1 }, /"autoSave" must be a boolean/],
    [{ allowMissingOrigin: null }, /"allowMissingOrigin" must be a boolean/],
    [{ allowJsonp: 'no' }, /"allowJsonp" must be a boolean/],
    [{ cookieName: '' }, /"cookieName" must be a non-empty string/],
    [{ cookiePrefix: 3 }, /"cookiePrefix" must be a string/],
    [{ errorEvent: {} }, /"errorEvent" must be a non-empty string/],
    [{ auth: 'Type.Object' }, /"auth" must be a TypeBox schema/],
    [{ query: [] }, /"query" must be a TypeBox schema/],
    [{ auth: Type.String({ pattern: '(' }) }, /"auth" is not a valid TypeBox schema/],
    [{ allowedOrigins: 'https://a.example' }, /"allowedOrigins" must be an array/],
    [{ allowedOrigins: [42] }, /"allowedOrigins" must be an array/],
    [{ allowedOrigins: ['a.example'] }, /"a\.example" is not an origin/],
    [{ rolling: 'yes' }, /"rolling" must be a boolean/],
    [{ checkInterval: 0 }, /"checkInterval" must be a number of milliseconds from 1 to 2147483647/],
    [{ revalidateInterval: Infinity }, /"revalidateInterval" must be a number of milliseconds/],
    [{ touchAfter: '1s' }, /"touchAfter" must be a number of milliseconds/],
    [{ checkInterval: 2 ** 31 }, /"checkInterval" must be a number of milliseconds/],
    [{ events: { validateEmits: 'yes' } }, /"events\.validateEmits" must be a boolean/],
    [{ secret: 'x' }, /unknown option "secret"; known options are auth, query/]
  ]
  for (const [options, message] of cases) {
    const err = await registrationError(fullApp(options))
    t.match(err, { code: 'FST_SIO_SESSION_BAD_OPTION', message }, JSON.stringify(options))
  }
  t.equal(await registrationError(fullApp({ prefix: '/x', logLevel: 'warn' })), undefined, 'Fastify\'s own register options are accepted')
})
