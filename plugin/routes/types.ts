import type { Static, TSchema } from 'typebox'
import type { Socket } from 'socket.io'
import type { EventErrorReply } from '../client-errors.js'
import type { EventDocs } from './docs.js'
import type { RateLimit } from './rate-limit.js'

// ---- What an event route is made of, as types ----

/** The payload a schema describes: `Static<P>`, or `undefined` for an event without a payload schema. */
export type PayloadOf<P> = P extends TSchema ? Static<P> : undefined

/** What a handler may return when the route has this ack schema (anything without one). */
export type ReplyOf<A> = A extends TSchema ? Static<A> : unknown

/**
 * Runs before the handler; refuses the event by throwing (or rejecting, or calling `done` with) an error,
 * an `EventError` to choose the reply's code. May be async, sync, or take `done` as its fourth parameter.
 */
export type PreHandlerHook<S = Socket, P = unknown> = (socket: S, payload: P, event: string, done: (err?: unknown) => void) => void | Promise<void>

/**
 * Sees every error an event replies with (a refusal, a failed handler, a failed save) before the reply goes
 * out: for logs and metrics; it does not change the reply. May be async, sync, or take `done`.
 */
export type OnErrorHook<S = Socket> = (socket: S, error: unknown, event: string, done: (err?: unknown) => void) => void | Promise<void>

/** One hook or several, run in order. */
export type Hooks<H> = H | H[]

/**
 * The options of one event route. `summary`, `description`, `tags` and `deprecated` describe it in the AsyncAPI
 * document; they may also sit in `schema`, as in a Fastify route.
 */
export interface EventRouteOptions<S = Socket, P extends TSchema | undefined = TSchema | undefined, A extends TSchema | undefined = TSchema | undefined> extends EventDocs {
  schema?: EventDocs & {
    /** The payload's schema (the one argument before the ack); without one, the event takes no payload. */
    payload?: P
    /** The schema of what the handler returns, checked before it is sent (see the `validateAck` option). */
    ack?: A
  }
  /** Run after the global `preHandler` hooks, before the handler. */
  preHandler?: Hooks<PreHandlerHook<S, PayloadOf<P>>>
  /** Run after the global `onError` hooks. */
  onError?: Hooks<OnErrorHook<S>>
  /** This event's own limit per session (on top of the global one). @default undefined (none) */
  rateLimit?: RateLimit
  /** Let binary data (Buffers) through to the schema; refused with `INVALID_PAYLOAD` otherwise. @default false */
  allowBinary?: boolean
}

/** Handles an event: what it returns (or resolves to) is the ack's argument. */
export type EventHandler<S, P, R> = (socket: S, payload: P, event: string) => R | Promise<R>

/** Gives types to a route's payload and reply; never present at run time. */
declare const kTypes: unique symbol

/** A registered event route: its event and namespace, and the types a client needs to send it. */
export interface EventRoute<Event extends string = string, Payload = unknown, Reply = unknown> {
  readonly event: Event
  readonly namespace: string
  readonly [kTypes]?: { payload: Payload, reply: Reply }
}

/** The ack a client passes for a route: it gets the handler's reply, or an error reply. */
export type RouteAck<Reply> = (reply: Reply | EventErrorReply) => void

/**
 * The client-to-server events of some routes, for a typed socket.io-client:
 * `io<ServerEvents, ClientEvents<typeof chat | typeof ping>>(url)`. Each event takes its payload (if it has a
 * payload schema) and an ack, so that `emitWithAck` resolves to the reply or the error reply.
 */
export type ClientEvents<Routes extends EventRoute<string, any, any>> = {
  [R in Routes as R['event']]: R extends EventRoute<string, infer P, infer Reply>
    ? [P] extends [undefined] ? (ack: RouteAck<Reply>) => void : (payload: P, ack: RouteAck<Reply>) => void
    : never
}

/** The method that registers a route on a namespace (`io.event`, `io.of('/chat').event`). */
export interface EventMethod<S> {
  <const Event extends string, P extends TSchema | undefined = undefined, A extends TSchema | undefined = undefined, R extends ReplyOf<A> = ReplyOf<A>>(
    event: Event,
    options: EventRouteOptions<S, P, A>,
    handler: EventHandler<S, PayloadOf<P>, R>
  ): EventRoute<Event, PayloadOf<P>, A extends TSchema ? Static<A> : R>
  <const Event extends string, R = void>(event: Event, handler: EventHandler<S, undefined, R>): EventRoute<Event, undefined, R>
}

/** Gives a server event its payload type; never present at run time. */
declare const kServerTypes: unique symbol

/** A declared server-to-client event: its name and namespace, and the payload its clients receive. */
export interface ServerEventRoute<Event extends string = string, Payload = unknown> {
  readonly event: Event
  readonly namespace: string
  readonly [kServerTypes]?: { payload: Payload }
}

/**
 * The options of a server event: the schema of its one payload argument (none: the event has no payload), and
 * what describes it in the AsyncAPI document.
 */
export interface ServerEventOptions<P extends TSchema | undefined = TSchema | undefined> extends EventDocs {
  schema?: P
}

/**
 * The server-to-client events of some declared server events, for a typed socket.io-client (the counterpart of
 * `ClientEvents`): `io<ServerEvents<typeof welcome | typeof message>, ClientEvents<typeof chat>>(url)`.
 */
export type ServerEvents<Events extends ServerEventRoute<string, any>> = {
  [E in Events as E['event']]: E extends ServerEventRoute<string, infer P>
    ? [P] extends [undefined] ? () => void : (payload: P) => void
    : never
}

/** The method that declares a server event on a namespace (`io.serverEvent`, `io.of('/chat').serverEvent`). */
export interface ServerEventMethod {
  <const Event extends string, P extends TSchema | undefined = undefined>(event: Event, options?: ServerEventOptions<P>): ServerEventRoute<Event, PayloadOf<P>>
}
