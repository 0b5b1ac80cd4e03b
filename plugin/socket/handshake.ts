import type { FastifyBaseLogger } from 'fastify'
import type { Socket } from 'socket.io'
import { Refusal, type ClientCode, type ValidationIssue } from '../client-errors.js'
import { originAllowed, type OriginOptions } from './origin.js'
import { applicationQuery, type HandshakeCheck } from '../schemas.js'
import type { OwnOrigin } from '../internals/fastify-request.js'
import type { SessionInternals } from '../internals/fastify-session.js'
import { expired, type Store, type Stored } from '../session/store.js'
import { begin, channels } from '../tracing.js'

// ---- Handshake: origin → auth/query schemas → signed cookie → stored session ----

/** The options the handshake reads. */
export interface HandshakeOptions extends OriginOptions {
  cookieName: string
  cookiePrefix: string
  requireSession: boolean
}

/** What the handshake needs, fixed at registration. */
export interface HandshakeContext {
  options: HandshakeOptions
  internals: SessionInternals
  /** The session store, every call timed. */
  store: Store
  /** The server's own origin as a request reached it. */
  ownOrigin: OwnOrigin
  log: FastifyBaseLogger
  parseCookie: (header: string) => Record<string, string | undefined>
  checkAuth: HandshakeCheck | undefined
  checkQuery: HandshakeCheck | undefined
}

/** A handshake's outcome: the stored session it may bind to (none when there is no valid one). */
export interface Accepted { id: string, stored: Stored }

/** Longest Origin text written to the log. */
const MAX_LOGGED_ORIGIN = 200

/** The signed session id from the Cookie header, with @fastify/session's name and prefix. */
function signedSessionId (h: HandshakeContext, header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length === 0) return undefined
  // @fastify/cookie's parser never throws on a string: undecodable values come back as they are.
  const value = h.parseCookie(header)[h.options.cookieName]
  const prefix = h.options.cookiePrefix
  if (typeof value !== 'string' || !value.startsWith(prefix)) return undefined
  return value.slice(prefix.length)
}

function refuse (h: HandshakeContext, socket: Socket, code: ClientCode, errors?: ValidationIssue[]): Refusal {
  const origin = socket.handshake.headers.origin
  h.log[code === 'SESSION_STORE_ERROR' ? 'error' : code === 'ORIGIN_NOT_ALLOWED' ? 'warn' : 'info']({
    code,
    namespace: socket.nsp.name,
    address: socket.handshake.address,
    origin: typeof origin === 'string' ? origin.slice(0, MAX_LOGGED_ORIGIN) : origin
  }, 'fastify-socket.io-session: handshake refused')
  return new Refusal(code, errors)
}

/** Checks one kind of handshake data; valid data lands typed in `socket.data[key]`. */
function checkData (socket: Socket, key: 'auth' | 'query', check: HandshakeCheck | undefined, input: unknown): ValidationIssue[] | undefined {
  if (check === undefined) return undefined
  let result: ReturnType<HandshakeCheck>
  try {
    result = check(input)
  } catch {
    // A schema's own code (a refinement, a custom format) threw on this input: refuse, as invalid.
    result = { ok: false, errors: [{ path: '', message: 'could not be checked' }] }
  }
  if (!result.ok) return result.errors
  socket.data ??= {}
  socket.data[key] = result.value
  return undefined
}

/**
 * Runs the handshake checks in order, refusing before the session is read when origin or data are bad.
 * Resolves to the refusal, or to the stored session (undefined when there is none). Never writes. Traced on
 * `fastify-socket.io-session:handshake` when something subscribes.
 */
export function runHandshake (h: HandshakeContext, socket: Socket): Promise<Refusal | Accepted | undefined> {
  const trace = begin(channels.handshake, () => ({ namespace: socket.nsp.name, transport: socket.conn.transport.name }))
  const result = handshake(h, socket)
  if (trace === undefined) return result
  trace.returned()
  return result.then((value) => {
    trace.settled({ outcome: value instanceof Refusal ? value.data.code : value === undefined ? 'anonymous' : 'accepted' })
    return value
  })
}

async function handshake (h: HandshakeContext, socket: Socket): Promise<Refusal | Accepted | undefined> {
  let allowed: boolean
  try {
    allowed = await originAllowed(socket, h.options, h.ownOrigin)
  } catch (err) {
    h.log.error({ err }, 'fastify-socket.io-session: the allowedOrigins function threw')
    allowed = false
  }
  if (!allowed) return refuse(h, socket, 'ORIGIN_NOT_ALLOWED')
  const authErrors = checkData(socket, 'auth', h.checkAuth, socket.handshake.auth)
  if (authErrors) return refuse(h, socket, 'INVALID_AUTH', authErrors)
  const queryErrors = h.checkQuery && checkData(socket, 'query', h.checkQuery, applicationQuery(socket.handshake.query))
  if (queryErrors) return refuse(h, socket, 'INVALID_QUERY', queryErrors)

  const signed = signedSessionId(h, socket.handshake.headers.cookie)
  const unsigned = signed === undefined ? undefined : h.internals.signer.unsign(signed)
  let accepted: Accepted | undefined
  if (unsigned?.valid === true && typeof unsigned.value === 'string') {
    let stored: Stored | undefined
    try {
      stored = await h.store.get(unsigned.value)
    } catch (err) {
      h.log.error({ err }, 'fastify-socket.io-session: session store failed during a handshake')
      return refuse(h, socket, 'SESSION_STORE_ERROR')
    }
    if (stored !== undefined && !expired(stored)) accepted = { id: unsigned.value, stored }
  }
  if (accepted === undefined && h.options.requireSession) return refuse(h, socket, 'SESSION_REQUIRED')
  return accepted
}
