import type { Namespace, Server } from 'socket.io'
import type { Static, TSchema } from 'typebox'

// ---- socket.data typed from the registered schemas ----

/** `socket.data` as the `auth` and `query` options leave it: each part typed by its schema, absent without one. */
export interface HandshakeDataOf<Options> {
  auth: Options extends { auth: infer Auth extends TSchema } ? Static<Auth> : undefined
  query: Options extends { query: infer Query extends TSchema } ? Static<Query> : undefined
}

/** A Socket.IO server or namespace whose sockets' `data` is `Data`. */
export type WithSocketData<Target, Data> =
  Target extends Server<infer Listen, infer Emit, infer ServerSide, any> ? Server<Listen, Emit, ServerSide, Data>
    : Target extends Namespace<infer Listen, infer Emit, infer ServerSide, any> ? Namespace<Listen, Emit, ServerSide, Data>
      : never

/**
 * `target` (`fastify.io` or a namespace of it), typed so that its sockets' `data.auth` and `data.query` are what
 * the plugin options' schemas check: pass the same options object the plugin was registered with. The same
 * object at run time: only its type changes, and its event maps are kept.
 */
export function withHandshakeData<Target extends Server<any, any, any, any> | Namespace<any, any, any, any>, Options extends { auth?: TSchema, query?: TSchema }> (
  target: Target,
  _options: Options
): WithSocketData<Target, HandshakeDataOf<Options>> {
  return target as unknown as WithSocketData<Target, HandshakeDataOf<Options>>
}
