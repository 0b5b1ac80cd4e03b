import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { FST_SIO_SESSION_UNSUPPORTED_FASTIFY } from '../errors.js'

// ---- The server's own origin, as Fastify's request.protocol and request.host see it ----

/** The server's own origin (`https://chat.example`) as a raw request reached it; undefined when there is none. */
export type OwnOrigin = (req: IncomingMessage) => string | undefined

/** What Fastify's request getters read from: the raw request, nothing else. */
interface RequestView { raw: object, protocol?: unknown, host?: unknown }

/**
 * The prototype of Fastify's Request class. Fastify keeps the class on a symbol of the instance and builds it
 * from the `trustProxy` option: its `protocol` and `host` getters read X-Forwarded-Proto and X-Forwarded-Host
 * only from trusted peers.
 */
function requestPrototype (fastify: FastifyInstance): object | undefined {
  for (let level: object | null = fastify; level !== null; level = Object.getPrototypeOf(level)) {
    const key = Object.getOwnPropertySymbols(level).find((symbol) => symbol.description === 'fastify.Request')
    if (key !== undefined) return ((level as Record<symbol, { prototype?: object } | undefined>)[key])?.prototype
  }
  return undefined
}

/** `protocol://host` as an origin, when it is exactly one http(s) origin (no path, credentials or garbage). */
function originOf (protocol: unknown, host: unknown): string | undefined {
  if (typeof protocol !== 'string' || !/^https?$/i.test(protocol)) return undefined
  try {
    const url = new URL(`${protocol}://${String(host)}`)
    return url.href === `${url.origin}/` ? url.origin : undefined
  } catch {
    return undefined
  }
}

/**
 * Reads the own origin the way Fastify's `request.protocol` and `request.host` do, trustProxy included, by running
 * Fastify's own getters on the raw request. Checks at registration that Fastify still has them.
 */
export function readOwnOrigin (fastify: FastifyInstance): OwnOrigin {
  const proto = requestPrototype(fastify)
  const view = (raw: object): RequestView => Object.assign(Object.create(proto ?? null) as RequestView, { raw })
  let works = false
  try {
    const probe = view({ headers: { host: 'probe.example:8443' }, socket: { encrypted: true } })
    works = probe.protocol === 'https' && probe.host === 'probe.example:8443'
  } catch {
    // Getters that need more than the raw request: not the Fastify this module knows.
  }
  if (!works) throw new FST_SIO_SESSION_UNSUPPORTED_FASTIFY()
  return (req) => {
    const request = view(req)
    return originOf(request.protocol, request.host)
  }
}
