import type { TSchema } from 'typebox'
import { resolveAsyncApi, type AsyncApiOptions, type ResolvedAsyncApi } from './asyncapi/options.js'
import { FST_SIO_SESSION_BAD_OPTION } from './errors.js'
import { resolveEvents, type EventsOptions, type ResolvedEvents } from './routes/options.js'
import type { LiveSessionOptions } from './session/live-session.js'
import type { HandshakeOptions } from './socket/handshake.js'
import type { OriginCheck } from './socket/origin.js'

export type { OriginCheck }

// ---- Public options ----

/** Options of fastify-socket.io-session. */
export interface SocketSessionOptions<Auth extends TSchema = TSchema, Query extends TSchema = TSchema> {
  /** TypeBox schema for `socket.handshake.auth`; valid data lands in `socket.data.auth`. @default undefined (not checked) */
  auth?: Auth
  /** TypeBox schema for the handshake query (strings coerced to the schema, defaults applied); lands in `socket.data.query`. @default undefined */
  query?: Query
  /** Refuse handshakes without a valid stored session (`SESSION_REQUIRED`). @default false */
  requireSession?: boolean
  /** Save a changed session after every listener, and hold its ack until the save finished. @default true */
  autoSave?: boolean
  /** The session cookie's name; must match @fastify/session's `cookieName`. @default 'sessionId' */
  cookieName?: string
  /** The session cookie's prefix; must match @fastify/session's `cookiePrefix`. @default '' */
  cookiePrefix?: string
  /** Origins allowed besides the server's own: exact origins (`'https://app.example.com'`) or a function. @default [] */
  allowedOrigins?: string[] | OriginCheck
  /**
   * Allow connections without an origin: no `Origin` header and no fetch metadata (non-browser clients), or a URL
   * the user typed (`Sec-Fetch-Site: none`). @default true
   */
  allowMissingOrigin?: boolean
  /** Allow Engine.IO's JSONP polling (a `j` query parameter); the origin checks still apply. @default false */
  allowJsonp?: boolean
  /** The event a socket receives when its session could not be saved, or ended (logout, expiry). @default 'session:error' */
  errorEvent?: string
  /** Socket events extend the session's expiry, as HTTP requests do; match @fastify/session's `rolling`. @default true */
  rolling?: boolean
  /** With `rolling`, the least extension (ms) worth a store write; at most a tenth of the cookie's maxAge is used. @default 60000 */
  touchAfter?: number
  /** How often (ms) live sessions are checked for expiry: a socket is ended at most this late. @default 1000 */
  checkInterval?: number
  /**
   * How often (ms) each live session is read again, spread over time, in case a message from another node was lost
   * (a safety net: with the Redis adapter, sessions are read again when its subscriber reconnects). @default 600000
   */
  revalidateInterval?: number
  /** How long (ms) any call to the session store may take (a call that takes longer fails as a store error), and an HTTP request waits for its session's socket events to stop. @default 5000 */
  storeTimeout?: number
  /** What every event route (`io.event`) shares: global hooks, a rate limit, unknown events, the error event. */
  events?: EventsOptions
  /** The AsyncAPI document of the event routes (`io.asyncapi()`): its info and servers, and the path that serves it. */
  asyncapi?: AsyncApiOptions
}

/** The options after checking, with every default filled in. */
export interface ResolvedOptions extends HandshakeOptions, LiveSessionOptions {
  auth: TSchema | undefined
  query: TSchema | undefined
  allowJsonp: boolean
  checkInterval: number
  revalidateInterval: number
  storeTimeout: number
  events: ResolvedEvents
  asyncapi: ResolvedAsyncApi
}

// ---- Checking ----

function bad (message: string): never {
  throw new FST_SIO_SESSION_BAD_OPTION(message)
}

function flag (options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name]
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') bad(`option "${name}" must be a boolean`)
  return value
}

function text (options: Record<string, unknown>, name: string, fallback: string, allowEmpty: boolean): string {
  const value = options[name]
  if (value === undefined) return fallback
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    bad(`option "${name}" must be a ${allowEmpty ? '' : 'non-empty '}string`)
  }
  return value
}

function interval (options: Record<string, unknown>, name: string, fallback: number): number {
  const value = options[name]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > 2 ** 31 - 1) {
    bad(`option "${name}" must be a number of milliseconds from 1 to 2147483647`)
  }
  return value
}

function schema (options: Record<string, unknown>, name: string): TSchema | undefined {
  const value = options[name]
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    bad(`option "${name}" must be a TypeBox schema, e.g. Type.Object({ ... })`)
  }
  return value as TSchema
}

function origins (value: unknown): OriginCheck {
  if (value === undefined) return () => false
  if (typeof value === 'function') return value as OriginCheck
  if (!Array.isArray(value) || !value.every((o) => typeof o === 'string')) {
    bad('option "allowedOrigins" must be an array of origins such as "https://app.example.com", or a function')
  }
  const allowed = new Set<string>()
  for (const origin of value as string[]) {
    let parsed: URL
    try {
      parsed = new URL(origin)
    } catch {
      bad(`allowedOrigins entry "${origin}" is not an origin such as "https://app.example.com"`)
    }
    // Browsers send only http(s) origins: another scheme (or 'localhost:3000', read as a scheme) never matches.
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      bad(`allowedOrigins entry "${origin}" is not an http(s) origin such as "https://app.example.com"`)
    }
    allowed.add(parsed.origin)
  }
  return (origin) => allowed.has(origin)
}

// Fastify's own register options may arrive here too; they are not ours to refuse.
const known = new Set(['prefix', 'logLevel', 'logSerializers', 'auth', 'query', 'requireSession', 'autoSave', 'cookieName', 'cookiePrefix', 'allowedOrigins', 'allowMissingOrigin', 'allowJsonp', 'errorEvent', 'rolling', 'touchAfter', 'checkInterval', 'revalidateInterval', 'storeTimeout', 'events', 'asyncapi'])

/** Checks the user's options and fills in defaults; throws FST_SIO_SESSION_BAD_OPTION naming the fix. */
export function resolveOptions (input: unknown): ResolvedOptions {
  // Fastify hands every plugin an options object (it refuses anything else at register()).
  const options = input as Record<string, unknown>
  for (const name of Object.keys(options)) {
    if (!known.has(name)) bad(`unknown option "${name}"; known options are ${[...known].slice(3).join(', ')}`)
  }
  return {
    auth: schema(options, 'auth'),
    query: schema(options, 'query'),
    requireSession: flag(options, 'requireSession', false),
    autoSave: flag(options, 'autoSave', true),
    cookieName: text(options, 'cookieName', 'sessionId', false),
    cookiePrefix: text(options, 'cookiePrefix', '', true),
    allowedOrigins: origins(options.allowedOrigins),
    allowMissingOrigin: flag(options, 'allowMissingOrigin', true),
    allowJsonp: flag(options, 'allowJsonp', false),
    errorEvent: text(options, 'errorEvent', 'session:error', false),
    rolling: flag(options, 'rolling', true),
    touchAfter: interval(options, 'touchAfter', 60_000),
    checkInterval: interval(options, 'checkInterval', 1000),
    revalidateInterval: interval(options, 'revalidateInterval', 600_000),
    storeTimeout: interval(options, 'storeTimeout', 5000),
    events: resolveEvents(options.events, bad),
    asyncapi: resolveAsyncApi(options.asyncapi, bad)
  }
}
