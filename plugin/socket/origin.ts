import type { IncomingMessage } from 'node:http'
import type { Socket } from 'socket.io'
import type { OwnOrigin } from '../internals/fastify-request.js'

/** Decides whether a connection's origin is allowed, beyond the server's own origin. */
export type OriginCheck = (origin: string, socket: Socket) => boolean | Promise<boolean>

/** The options the origin check reads. */
export interface OriginOptions {
  allowedOrigins: OriginCheck
  allowMissingOrigin: boolean
}

// ---- A request's effective origin ----

/** No origin: a non-browser client (no Origin, no fetch metadata), or a URL the user typed (`Sec-Fetch-Site: none`). */
export const NO_ORIGIN = Symbol('no origin')
/** An Origin header that is not one http(s) origin: `null`, garbage, other schemes, a repeated header. */
export const BAD_ORIGIN = Symbol('malformed origin')
/** No Origin header, and fetch metadata says a page of another origin sent it (a script tag, a no-cors request). */
export const OTHER_ORIGIN = Symbol('another origin without Origin')

/** Where a request comes from: an http(s) origin such as `https://app.example.com`, or one of the symbols above. */
export type EffectiveOrigin = string | typeof NO_ORIGIN | typeof BAD_ORIGIN | typeof OTHER_ORIGIN

/**
 * A request's effective origin, and the server's own origin as that request reached it (worked out when asked:
 * a client without an Origin header never needs it).
 */
export interface RequestOrigin { origin: EffectiveOrigin, own: () => string | undefined }

/**
 * The effective origin of each connection's first request (Engine.IO keeps that request as `conn.request`). Kept
 * beside the request, not on it: a property added to an IncomingMessage costs about 1.3 KB per connection.
 */
const origins = new WeakMap<IncomingMessage, RequestOrigin>()

/**
 * An http(s) origin, normalized; undefined for anything else (`null`, garbage, other schemes, and anything beyond
 * scheme, host and port: two origins joined with a comma parse as one host followed by a path).
 */
function parseOrigin (origin: string): string | undefined {
  try {
    const url = new URL(origin)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    return url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '' ? url.origin : undefined
  } catch {
    return undefined
  }
}

/**
 * The Origin header when there is one. Without it, fetch metadata (sent by browsers to https and localhost
 * addresses) tells a same-origin request (the own origin) and a typed URL (no origin) from a page of another origin.
 */
export function requestOrigin (req: IncomingMessage, ownOrigin: OwnOrigin): RequestOrigin {
  const own = (): string | undefined => ownOrigin(req)
  const { origin } = req.headers
  // Node joins a repeated Origin header into one string ("a, b"), which parses as no origin.
  if (origin !== undefined) return { origin: parseOrigin(origin) ?? BAD_ORIGIN, own }
  const site = req.headers['sec-fetch-site']
  if (site === undefined || site === 'none') return { origin: NO_ORIGIN, own }
  if (site !== 'same-origin') return { origin: OTHER_ORIGIN, own }
  const known = own()
  return { origin: known ?? BAD_ORIGIN, own: () => known }
}

/** The effective origin of a connection's first request, worked out once and kept on that request. */
export function handshakeOrigin (req: IncomingMessage, ownOrigin: OwnOrigin): RequestOrigin {
  let origin = origins.get(req)
  if (origin === undefined) {
    origin = requestOrigin(req, ownOrigin)
    origins.set(req, origin)
  }
  return origin
}

/**
 * Whether a later request of a connection may go on: from the server's own origin, or from where the request that
 * opened it came (a connection opened from a malformed origin goes on, to be refused by the socket's own check).
 */
export function sameAsOpened (now: RequestOrigin, opened: RequestOrigin): boolean {
  return now.origin === opened.origin || now.origin === now.own()
}

// ---- Origin check of a socket (cross-site WebSocket hijacking) ----

/**
 * Whether the connection's origin may open a socket: none (per `allowMissingOrigin`), the server's own origin
 * (scheme, host and port), or allowed by `allowedOrigins`. Malformed origins are refused.
 */
export async function originAllowed (socket: Socket, options: OriginOptions, ownOrigin: OwnOrigin): Promise<boolean> {
  const { origin, own } = handshakeOrigin(socket.request, ownOrigin)
  if (origin === NO_ORIGIN) return options.allowMissingOrigin
  if (typeof origin !== 'string') return false
  if (origin === own()) return true
  return (await options.allowedOrigins(origin, socket)) === true
}
