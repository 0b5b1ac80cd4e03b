import type { FastifySessionObject } from '@fastify/session'
import type { Static, TSchema } from 'typebox'
import type { DefaultEventsMap, Server } from 'socket.io'
import type { AsyncApiDocument } from './asyncapi/document.js'
import type { EventMethod, ServerEventMethod } from './routes/types.js'

/** Socket.IO's EventsMap (not exported by its package entry point). */
export interface EventsMap { [event: string]: any }

// ---- Declaration merging and exported types ----

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server (decorated by fastify-socket.io), the same type fastify-socket.io declares. */
    io: Server
  }
  interface FastifyContextConfig {
    /**
     * Whether a request of this route holds the socket events of its session while it runs (see "HTTP requests and
     * socket events take turns"). @default true for POST, PUT, PATCH, DELETE and other methods; false for GET, HEAD, OPTIONS
     */
    holdSockets?: boolean
  }
}

declare module 'socket.io' {
  interface Server<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
    /** Adds an event route to the main namespace: a schema-checked payload, hooks, a handler whose value is the ack. */
    event: EventMethod<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>
    /** Declares an event the server emits on the main namespace, with its payload's schema (checked with `events.validateEmits`). */
    serverEvent: ServerEventMethod
    /** The AsyncAPI 3.0 document of every namespace's routes, server events, handshake and errors (a new object each call). */
    asyncapi: () => AsyncApiDocument
  }
  interface Namespace<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
    /** Adds an event route to this namespace: a schema-checked payload, hooks, a handler whose value is the ack. */
    event: EventMethod<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>
    /** Declares an event the server emits on this namespace, with its payload's schema (checked with `events.validateEmits`). */
    serverEvent: ServerEventMethod
  }
  // Same type parameters as Socket.IO's own Socket class, so that this merges into it.
  interface Socket<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
    /** The live HTTP session of this socket: the same API as `request.session`, saved after every listener. */
    session: FastifySessionObject
  }
}

/**
 * `socket.data` after a handshake checked by the `auth` and `query` schemas; use it as Socket.IO's
 * `SocketData` type parameter: `Server<ClientEvents, ServerEvents, {}, HandshakeData<typeof Auth, typeof Query>>`.
 */
export interface HandshakeData<Auth extends TSchema = TSchema, Query extends TSchema = TSchema> {
  auth: Static<Auth>
  query: Static<Query>
}
