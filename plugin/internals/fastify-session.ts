import type { FastifyInstance } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_UNSUPPORTED_SESSION } from '../errors.js'

// ---- What the socket side needs from the registered @fastify/session ----

/** Checks a signed cookie value against the session secret(s), as @fastify/session does. */
export interface Signer { unsign (value: string): { valid: boolean, value: string | null } }

/** @fastify/session's Session class, as constructed by the plugin itself. */
export type SessionClass = new (
  store: SessionStore, request: object, idGenerator: () => string, cookieOpts: object,
  signer: Signer, prevSession?: object, sessionId?: string
) => Record<string, unknown>

/** The registered @fastify/session's store, signer, cookie options and Session class. */
export interface SessionInternals {
  store: SessionStore
  signer: Signer
  cookieOpts: object
  idGenerator: () => string
  Session: SessionClass
  /** The Session class's private hash method (for its own `isModified`). */
  hashKey: symbol
}

/**
 * Reads them off a fresh session made by `fastify.decryptSession` (a badly signed id yields one without
 * touching the store). They let the handshake read a session without writing: `decryptSession` itself
 * writes a new session when the stored one has expired.
 */
export function readSessionInternals (fastify: FastifyInstance): SessionInternals {
  const holder: { session?: object } = {}
  fastify.decryptSession('', holder, () => {})
  const session = holder.session
  const fields = new Map<string | undefined, unknown>()
  for (const symbol of session ? Object.getOwnPropertySymbols(session) : []) {
    fields.set(symbol.description, (session as Record<symbol, unknown>)[symbol])
  }
  const store = fields.get('sessionStore') as SessionStore | undefined
  const signer = fields.get('cookieSignerKey') as Signer | undefined
  const cookieOpts = fields.get('cookieOpts')
  const idGenerator = fields.get('generateId')
  const hashKey = session && Object.getOwnPropertySymbols(Object.getPrototypeOf(session)).find((key) => key.description === 'hash')
  if (
    typeof store?.get !== 'function' || typeof store.set !== 'function' || typeof store.destroy !== 'function' ||
    typeof signer?.unsign !== 'function' || typeof cookieOpts !== 'object' || typeof idGenerator !== 'function' ||
    hashKey === undefined
  ) {
    throw new FST_SIO_SESSION_UNSUPPORTED_SESSION('its session object lacks the store, signer, cookie options or hash')
  }
  return {
    store,
    signer,
    cookieOpts: cookieOpts as object,
    idGenerator: idGenerator as () => string,
    Session: (session as object).constructor as SessionClass,
    hashKey: hashKey as symbol
  }
}
