import type { Socket } from 'socket.io'
import { isThenable } from '../thenable.js'
import type { RateLimit } from './rate-limit.js'
import type { Hooks, OnErrorHook, PreHandlerHook } from './types.js'

// ---- The `events` option: what every event route shares ----

/** Options for every event route (`io.event`). */
export interface EventsOptions {
  /** Run before every route's own `preHandler` hooks. @default [] */
  preHandler?: Hooks<PreHandlerHook>
  /** Run before every route's own `onError` hooks. @default [] */
  onError?: Hooks<OnErrorHook>
  /** One limit per session over all of its routed events, in every namespace (each route may add its own). @default undefined (none) */
  rateLimit?: RateLimit
  /**
   * The key whose buckets a socket's events take from (an IP, a user id); a throw or no string is logged and
   * the default is used. @default the id of the socket's stored session, else `socket.handshake.address`
   */
  keyGenerator?: KeyGenerator
  /** An event with no route and no `socket.on` listener: ignored, or answered with `UNKNOWN_EVENT`. @default 'ignore' */
  unknownEvent?: 'ignore' | 'reply'
  /** The event that carries the error of an event sent without an ack. @default 'error' */
  errorEvent?: string
  /** Check each handler's reply against the route's ack schema (a mismatch is logged, the client gets `HANDLER_ERROR`). @default true */
  validateAck?: boolean
  /**
   * Check what the server emits of a declared server event (`io.serverEvent`) against its schema: a mismatch throws
   * `FST_SIO_SESSION_BAD_EMIT` in the emitting code and reaches no client. @default true unless NODE_ENV is 'production'
   */
  validateEmits?: boolean
}

/** Gives the key whose rate-limit buckets a socket's events take from (`events.keyGenerator`). */
export type KeyGenerator = (socket: Socket) => string

/** A hook as the plugin calls it: returns a promise, or nothing when it finished synchronously. */
export type Hook = (socket: Socket, value: unknown, event: string) => unknown

/** The `events` option after checking. */
export interface ResolvedEvents {
  preHandler: Hook[]
  onError: Hook[]
  rateLimit: RateLimit | undefined
  keyGenerator: KeyGenerator | undefined
  unknownEvent: 'ignore' | 'reply'
  errorEvent: string
  validateAck: boolean
  validateEmits: boolean
}

// ---- Checking ----

type Bad = (message: string) => never

/** A hook that takes `done` (a fourth parameter) as one that returns a promise; an async one may skip `done`. */
function promised (fn: (...args: unknown[]) => unknown): Hook {
  if (fn.length < 4) return fn as Hook
  return (socket, value, event) => new Promise<void>((resolve, reject) => {
    const result = fn(socket, value, event, (err?: unknown) => { if (err != null) reject(err); else resolve() })
    if (isThenable(result)) result.then(() => resolve(), reject)
  })
}

/** One hook or an array of them, as an array of hooks that return promises. */
export function hooks (value: unknown, name: string, bad: Bad): Hook[] {
  if (value === undefined) return []
  const list = Array.isArray(value) ? value : [value]
  if (!list.every((fn) => typeof fn === 'function')) bad(`"${name}" must be a function or an array of functions`)
  return list.map(promised)
}

/** A rate limit `{ max, timeWindow }`, checked. */
export function rateLimit (value: unknown, name: string, bad: Bad): RateLimit | undefined {
  if (value === undefined) return undefined
  const { max, timeWindow } = (value ?? {}) as Partial<RateLimit>
  const count = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 2 ** 31 - 1
  if (typeof value !== 'object' || !count(max) || !count(timeWindow)) {
    bad(`"${name}" must be { max, timeWindow }: whole numbers of events and of ms, at least 1`)
  }
  return { max, timeWindow } as RateLimit
}

const known = new Set(['preHandler', 'onError', 'rateLimit', 'keyGenerator', 'unknownEvent', 'errorEvent', 'validateAck', 'validateEmits'])

/** Checks the `events` option and fills in defaults. */
export function resolveEvents (value: unknown, bad: Bad): ResolvedEvents {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) bad('option "events" must be an object')
  const events = (value ?? {}) as Record<string, unknown>
  for (const name of Object.keys(events)) {
    if (!known.has(name)) bad(`unknown option "events.${name}"; known are ${[...known].join(', ')}`)
  }
  const { unknownEvent = 'ignore', errorEvent = 'error', validateAck = true, validateEmits = process.env.NODE_ENV !== 'production' } = events
  if (unknownEvent !== 'ignore' && unknownEvent !== 'reply') bad('option "events.unknownEvent" must be "ignore" or "reply"')
  if (typeof errorEvent !== 'string' || errorEvent.length === 0) bad('option "events.errorEvent" must be a non-empty string')
  if (typeof validateAck !== 'boolean') bad('option "events.validateAck" must be a boolean')
  if (typeof validateEmits !== 'boolean') bad('option "events.validateEmits" must be a boolean')
  const { keyGenerator } = events
  if (keyGenerator !== undefined && typeof keyGenerator !== 'function') bad('option "events.keyGenerator" must be a function (socket) => string')
  return {
    preHandler: hooks(events.preHandler, 'events.preHandler', bad),
    onError: hooks(events.onError, 'events.onError', bad),
    rateLimit: rateLimit(events.rateLimit, 'events.rateLimit', bad),
    keyGenerator: keyGenerator as KeyGenerator | undefined,
    unknownEvent,
    errorEvent,
    validateAck,
    validateEmits
  }
}
