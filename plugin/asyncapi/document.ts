import type { Namespace } from 'socket.io'
import type { TSchema } from 'typebox'
import type { ResolvedDocs } from '../routes/docs.js'
import type { Route, ServerEvent } from '../routes/compile.js'
import { codesOf, errorSchemas, listCodes, schemaRef } from './error-schemas.js'
import type { AsyncApiInfo, AsyncApiServer, ResolvedAsyncApi } from './options.js'

// ---- The AsyncAPI 3.0 document of the event routes ----
// Written from the server's side: a client's event is an operation the server `receive`s, with the ack as its
// reply; a server event is one it `send`s. Each namespace is a channel.

/** An AsyncAPI 3.0 document (`io.asyncapi()`), as plain JSON data. */
export interface AsyncApiDocument {
  asyncapi: '3.0.0'
  info: AsyncApiInfo
  defaultContentType: string
  servers?: Record<string, AsyncApiServer>
  channels: Record<string, Record<string, unknown>>
  operations: Record<string, Record<string, unknown>>
  components: Record<string, Record<string, unknown>>
}

/** What the document is made from. */
export interface DocumentSource {
  /** The namespaces with routes or server events; the main namespace is described even without. */
  namespaces: Iterable<{ nsp: Namespace, routes: Route[], serverEvents: ServerEvent[] }>
  main: Namespace
  /** For a dynamic namespace, its pattern ('' for a function); undefined for a namespace with a name. */
  pattern: (nsp: Namespace) => string | undefined
  auth: TSchema | undefined
  query: TSchema | undefined
  requireSession: boolean
  /** The session cookie's full name (prefix included). */
  cookie: string
  /** The session error event, and the event that carries the errors of events sent without an ack. */
  sessionErrorEvent: string
  eventErrorEvent: string
  asyncapi: ResolvedAsyncApi
}

type Json = Record<string, unknown>

/** A JSON copy: no symbol or non-enumerable keys (TypeBox's), and nothing the caller can change in the routes. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

/**
 * Unique ids made of what AsyncAPI allows in a key (`[\w.-]`), so that references need no escaping; never
 * `__proto__`, which AsyncAPI tools cannot read as a key.
 */
class Ids {
  private readonly used = new Set<string>(['__proto__'])
  take (text: string): string {
    const base = text.replace(/[^\w.-]/g, '_')
    let id = base
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`
    this.used.add(id)
    return id
  }
}

/** Sets an own key, even one such as `__proto__` or `constructor` (keys come from event and namespace names). */
function put (target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const ref = (...path: string[]): { $ref: string } => ({ $ref: `#/${path.join('/')}` })
const security = (): Array<{ $ref: string }> => [ref('components', 'securitySchemes', 'sessionCookie')]

/** The fields of an operation that describe it, only those given. */
function described (docs: ResolvedDocs): Json {
  const fields: Json = {}
  if (docs.summary !== undefined) fields.summary = docs.summary
  if (docs.description !== undefined) fields.description = docs.description
  if (docs.tags.length > 0) fields.tags = copy(docs.tags)
  return fields
}

/** A message of one event: its name, and its payload's schema, or what it carries without one. */
function message (name: string, schema: TSchema | undefined, without: string, extra: Json): Json {
  return { name, title: name, ...(schema === undefined ? { description: without } : { payload: copy(schema) }), ...extra }
}

/** The messages every channel shares, kept once in the components. */
function sharedMessages (s: DocumentSource): Json {
  return {
    handshake: {
      name: 'connect',
      title: 'Handshake',
      summary: 'Opens the namespace (Socket.IO CONNECT): the session cookie over HTTP, and the `auth` object.',
      ...(s.auth === undefined ? { description: '`auth` is not checked.' } : { payload: copy(s.auth), description: 'The payload is `auth` (`io(url, { auth })`); valid data lands in `socket.data.auth`.' })
    },
    handshakeRefused: {
      name: 'connect_error',
      title: 'Handshake refused',
      summary: 'The handshake was refused: the client\'s `connect_error` carries this body as `err.data`.',
      description: `Codes: ${listCodes(codesOf.handshake)}.`,
      payload: schemaRef('ClientErrorBody')
    },
    errorReply: {
      name: 'error reply',
      title: 'Error reply',
      summary: 'The ack\'s argument when the event was refused or failed.',
      description: `Codes: ${listCodes(codesOf.event)}, or a code of the application's hooks.`,
      payload: schemaRef('ClientErrorReply')
    },
    eventError: {
      name: s.eventErrorEvent,
      title: 'Event error',
      summary: 'The error of an event sent without an ack.',
      description: `Codes: ${listCodes(codesOf.event)}, or a code of the application's hooks.`,
      payload: schemaRef('EventErrorMessage')
    },
    sessionError: {
      name: s.sessionErrorEvent,
      title: 'Session error',
      summary: 'The session could not be saved, or it ended; after an end, the server disconnects the socket.',
      description: `Codes: ${listCodes(codesOf.session)}.`,
      payload: schemaRef('SessionErrorPayload')
    }
  }
}

/** Builds the document: one channel per namespace, its handshake, routes, server events and errors. */
export function asyncApiDocument (s: DocumentSource): AsyncApiDocument {
  const channels: Record<string, Json> = {}
  const operations: Record<string, Json> = {}
  const channelIds = new Ids()
  const operationIds = new Ids()
  const list = [...s.namespaces]
  if (!list.some(({ nsp }) => nsp === s.main)) list.unshift({ nsp: s.main, routes: [], serverEvents: [] })
  for (const { nsp, routes, serverEvents } of list) {
    const pattern = s.pattern(nsp)
    const channel = channelIds.take(pattern !== undefined ? 'dynamic' : nsp.name === '/' ? 'main' : nsp.name.slice(1))
    const messageIds = new Ids()
    const messages: Json = {}
    const operation = (name: string, body: Json): void => { put(operations, operationIds.take(`${channel}.${name}`), { channel: ref('channels', channel), ...body }) }
    const shared = (name: string): { $ref: string } => {
      put(messages, messageIds.take(name), ref('components', 'messages', name))
      return ref('channels', channel, 'messages', name)
    }
    const own = (name: string, body: Json): { $ref: string } => {
      const id = messageIds.take(name)
      put(messages, id, body)
      return ref('channels', channel, 'messages', id)
    }
    // The shared messages first: they keep their names, and an event of the same name gets another key.
    const handshake = shared('handshake')
    const refused = shared('handshakeRefused')
    const errorReply = routes.length > 0 ? shared('errorReply') : undefined
    const eventError = routes.length > 0 ? shared('eventError') : undefined
    const sessionError = shared('sessionError')
    operation('connect', {
      action: 'receive',
      summary: 'Handshake: a client opens this namespace',
      messages: [handshake],
      reply: { channel: ref('channels', channel), messages: [refused] },
      security: security()
    })
    for (const route of routes) {
      const event = route.descriptor.event
      const payload = own(event, message(event, route.schemas.payload, 'No payload.', route.docs.deprecated ? { deprecated: true } : {}))
      const ack = own(`${event}.ack`, message(`${event} ack`, route.schemas.ack, 'What the handler returns (the route has no ack schema).', { summary: 'The reply: what the handler returns.' }))
      operation(`receive.${event}`, {
        action: 'receive',
        ...described(route.docs),
        messages: [payload],
        reply: { channel: ref('channels', channel), messages: [ack, errorReply] }
      })
    }
    for (const declared of serverEvents) {
      const event = declared.descriptor.event
      const sent = own(event, message(event, declared.schema, 'No payload.', declared.docs.deprecated ? { deprecated: true } : {}))
      operation(`send.${event}`, { action: 'send', ...described(declared.docs), messages: [sent] })
    }
    if (eventError !== undefined) operation('eventError', { action: 'send', summary: 'The error of an event sent without an ack', messages: [eventError] })
    operation('sessionError', { action: 'send', summary: 'The session could not be saved, or it ended', messages: [sessionError] })
    put(channels, channel, {
      address: pattern === undefined ? nsp.name : null,
      title: pattern === undefined ? `Namespace ${nsp.name}` : 'Dynamic namespace',
      description: pattern === undefined
        ? `The Socket.IO namespace \`${nsp.name}\` (\`io(url${nsp.name === '/' ? '' : ` + '${nsp.name}'`})\`).`
        : `Every namespace whose name ${pattern === '' ? 'a function accepts' : `matches \`${pattern}\``} (\`io.of(${pattern === '' ? 'fn' : pattern})\`).`,
      messages,
      ...(s.query === undefined ? {} : { bindings: { ws: { query: copy(s.query), bindingVersion: '0.1.0' } } })
    })
  }
  const { info, servers } = s.asyncapi
  return {
    asyncapi: '3.0.0',
    info: { description: description(), ...copy(info) },
    defaultContentType: 'application/json',
    ...(Object.keys(servers).length === 0 ? {} : { servers: withSecurity(servers) }),
    channels,
    operations,
    components: {
      schemas: errorSchemas(),
      messages: sharedMessages(s),
      securitySchemes: {
        sessionCookie: {
          type: 'httpApiKey',
          in: 'cookie',
          name: s.cookie,
          description: s.requireSession
            ? 'The Fastify session cookie, sent with the handshake: required (without a valid stored session, `SESSION_REQUIRED`).'
            : 'The Fastify session cookie, sent with the handshake: without a valid one, the socket gets a new, empty session.'
        }
      }
    }
  }
}

/** The document's description, unless `info` has one. */
function description (): string {
  return 'Socket.IO events. Each channel is a namespace. A `receive` operation is an event a client emits ' +
    '(`socket.emitWithAck(event, payload)`); its reply is the ack. A `send` operation is an event the server emits.'
}

/** The servers, each with the session cookie as its security unless it has its own. */
function withSecurity (servers: Record<string, AsyncApiServer>): Record<string, AsyncApiServer> {
  const copied = copy(servers)
  for (const server of Object.values(copied)) server.security ??= security()
  return copied
}
