// Type tests of event routes: compiled by `tsc --noEmit` in `npm test`; a typing regression fails the build.
import Fastify from 'fastify'
import type { Server, Socket } from 'socket.io'
import { io as connect, type Socket as ClientSocket } from 'socket.io-client'
import { Type, type Static } from 'typebox'
import socketSession, { EventError, type AsyncApiDocument, type ClientEvents, type EventErrorMessage, type EventErrorReply, type EventRoute, type HandshakeData, type KeyGenerator, type ServerEvents as DeclaredServerEvents } from '../plugin/index.js'
import type { Equal, Expect } from './type-checks.js'

const Chat = Type.Object({ room: Type.String(), text: Type.String() })
const ChatReply = Type.Object({ id: Type.Number() })
const Auth = Type.Object({ token: Type.String() })

export async function server () {
  const app = Fastify()
  await app.register(socketSession, { auth: Auth })

  const chat = app.io.event('chat', {
    schema: { payload: Chat, ack: ChatReply },
    preHandler: [(socket, payload) => {
      const room: string = payload.room
      if (socket.session.sessionId === room) throw new EventError('FORBIDDEN')
    }],
    onError: (_socket, error, event) => { void [error, event] }
  }, async (socket, payload, event) => {
    const checks: [Expect<Equal<typeof payload, Static<typeof Chat>>>, Expect<Equal<typeof socket, Socket>>, Expect<Equal<typeof event, string>>] = [true, true, true]
    void checks
    return { id: payload.text.length }
  })
  const ping = app.io.event('ping', () => 'pong' as const)
  const whoami = app.io.event('whoami', { schema: { payload: Type.Object({ verbose: Type.Boolean() }) } }, async (socket, { verbose }) => verbose ? { user: socket.session.sessionId } : null)
  const quiet = app.io.event('quiet', { schema: { payload: Type.String() } }, () => {})

  // @ts-expect-error the ack schema wants { id: number }
  app.io.event('wrong-reply', { schema: { ack: ChatReply } }, async () => ({ id: 'one' }))
  // @ts-expect-error payload fields are typed
  app.io.event('wrong-field', { schema: { payload: Chat } }, (_socket, payload) => payload.missing)
  // @ts-expect-error an event without a payload schema has no payload
  app.io.event('no-payload', (_socket, payload) => payload.length)
  // @ts-expect-error options are checked
  app.io.event('typo', { prehandler: [] }, () => 1)

  // Descriptions for the AsyncAPI document: in the options, or in `schema` as in a Fastify route.
  app.io.event('described', { summary: 'S', description: 'D', tags: ['a', { name: 'b', description: 'B' }], deprecated: true }, () => 1)
  app.io.event('fastify-style', { schema: { payload: Type.String(), summary: 'S', tags: ['a'] } }, (_socket, payload) => payload.length)
  app.io.serverEvent('news', { schema: Type.String(), summary: 'S', deprecated: false })
  // @ts-expect-error tags are strings or { name }
  app.io.event('bad-tags', { tags: [1] }, () => 1)
  // @ts-expect-error deprecated is a boolean
  app.io.serverEvent('bad-deprecated', { deprecated: 'yes' })
  const document = app.io.asyncapi()
  const documentChecks: [Expect<Equal<typeof document, AsyncApiDocument>>, Expect<Equal<typeof document.info.title, string>>] = [true, true]
  void documentChecks
  await Fastify().register(socketSession, { asyncapi: { info: { title: 'Chat', version: '1.0.0' }, servers: { prod: { host: 'example.com', protocol: 'wss' } }, path: '/asyncapi.json' } })
  // @ts-expect-error info needs a version
  await Fastify().register(socketSession, { asyncapi: { info: { title: 'Chat' } } })

  // The Server's SocketData reaches the handler's socket.
  const typed = app.io as unknown as Server<{}, {}, {}, HandshakeData<typeof Auth>>
  typed.event('token', (socket) => socket.data.auth.token.length)
  typed.of('/admin').event('token', (socket) => {
    const checks: [Expect<Equal<typeof socket.data.auth, { token: string }>>] = [true]
    return checks.length
  })

  // The rate-limit key of a socket.
  const keyGenerator: KeyGenerator = (socket) => String(socket.session.user ?? socket.handshake.address)
  await Fastify().register(socketSession, { events: { keyGenerator, rateLimit: { max: 10, timeWindow: 1000 } } })
  // @ts-expect-error a key is a string
  await Fastify().register(socketSession, { events: { keyGenerator: (socket: Socket) => socket.handshake.issued } })

  type Routes = typeof chat | typeof ping | typeof whoami | typeof quiet
  const checks: [
    Expect<Equal<typeof chat, EventRoute<'chat', { room: string, text: string }, { id: number }>>>,
    Expect<Equal<typeof ping, EventRoute<'ping', undefined, 'pong'>>>,
    Expect<Equal<typeof whoami, EventRoute<'whoami', { verbose: boolean }, { user: string } | null>>>,
    Expect<Equal<typeof quiet, EventRoute<'quiet', string, void>>>
  ] = [true, true, true, true]
  void checks
  return undefined as unknown as Routes
}

/** The routes' types, as a client module would import them from the server's. */
type Routes = Awaited<ReturnType<typeof server>>
type ServerEvents = { error: (message: EventErrorMessage) => void }

export async function client () {
  const socket: ClientSocket<ServerEvents, ClientEvents<Routes>> = connect('http://127.0.0.1:3000')
  const reply = await socket.emitWithAck('chat', { room: 'a', text: 'hi' })
  const pong = await socket.emitWithAck('ping')
  socket.timeout(1000).emit('whoami', { verbose: true }, (err, me) => {
    const checks: [Expect<Equal<typeof err, Error>>, Expect<Equal<typeof me, { user: string } | null | EventErrorReply>>] = [true, true]
    void checks
  })
  const checks: [Expect<Equal<typeof reply, { id: number } | EventErrorReply>>, Expect<Equal<typeof pong, 'pong' | EventErrorReply>>] = [true, true]
  void checks
  if ('error' in reply) {
    const code: string = reply.error.code
    void code
  } else {
    const id: number = reply.id
    void id
  }
  socket.emit('quiet', 'text', (result) => { void result })
  socket.on('error', ({ event, error }) => { void [event, error.code, error.errors?.[0].path] })
  // @ts-expect-error the payload is typed
  await socket.emitWithAck('chat', { room: 1, text: 'hi' })
  // @ts-expect-error unknown events are not in the map
  await socket.emitWithAck('nope')
}

// Server events: the route declares the payload; ServerEvents builds the client's listen map.
export function serverEventTypes (io: Server): void {
  const welcome = io.serverEvent('welcome', { schema: Type.Object({ n: Type.Number() }) })
  const notice = io.serverEvent('notice')
  type Listen = DeclaredServerEvents<typeof welcome | typeof notice>
  const checks: [
    Expect<Equal<typeof welcome.event, 'welcome'>>,
    Expect<Equal<Parameters<Listen['welcome']>, [payload: { n: number }]>>,
    Expect<Equal<Parameters<Listen['notice']>, []>>
  ] = [true, true, true]
  void checks
  const client = null as unknown as ClientSocket<Listen, {}>
  client.on('welcome', (payload) => { const n: number = payload.n; void n })
  // @ts-expect-error notice has no payload
  client.on('notice', (payload: string) => { void payload })
}
