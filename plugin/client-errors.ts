// ---- The errors a client sees: one code union, one message table, one body shape ----
// The body `{ code, message, errors?, retryAfter? }` is `err.data` of a refused handshake (`connect_error`), the
// `error` of the session error event, and the `error` of an event route's error reply (ack or error event).

/** Every code the plugin itself sends a client; hooks and handlers of event routes may use their own too. */
export const ClientCodes = {
  /** Handshake: the page's origin may not open a socket (also the body of a refused HTTP request, 403). */
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
  /** Handshake: `auth` does not match the `auth` schema. */
  INVALID_AUTH: 'INVALID_AUTH',
  /** Handshake: the query does not match the `query` schema. */
  INVALID_QUERY: 'INVALID_QUERY',
  /** Handshake: `requireSession` and no valid stored session (missing, unknown, expired, badly signed alike). */
  SESSION_REQUIRED: 'SESSION_REQUIRED',
  /** Handshake: the session store did not answer; retryable. */
  SESSION_STORE_ERROR: 'SESSION_STORE_ERROR',
  /** A change of the session was not saved (store error, values JSON cannot write, too many waiting events). */
  SESSION_SAVE_FAILED: 'SESSION_SAVE_FAILED',
  /** The session ended (logout, a new login); a server-side disconnect follows. */
  SESSION_DESTROYED: 'SESSION_DESTROYED',
  /** The session expired; a server-side disconnect follows. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** Event route: the payload does not match the route's schema. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** Event route: a hook refused the event (the code hooks use by convention). */
  FORBIDDEN: 'FORBIDDEN',
  /** Event route: the handler or a hook failed; only the server's log sees why. */
  HANDLER_ERROR: 'HANDLER_ERROR',
  /** Event route: over a rate limit; `retryAfter` says when to try again. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** An event with no route and no listener (with `events.unknownEvent: 'reply'`). */
  UNKNOWN_EVENT: 'UNKNOWN_EVENT'
} as const

/** A code of the plugin's own. */
export type ClientCode = keyof typeof ClientCodes

/** One validation problem: where, and what is wrong (never the value). */
export interface ValidationIssue { path: string, message: string }

/** What every error a client receives says: a stable code, a message for people, and details where there are some. */
export interface ClientErrorBody {
  code: ClientCode | (string & {})
  message: string
  /** What is wrong with the data (`INVALID_AUTH`, `INVALID_QUERY`, `INVALID_PAYLOAD`): where, and what. */
  errors?: ValidationIssue[]
  /** How long (ms) until the event would be accepted again (`RATE_LIMITED`). */
  retryAfter?: number
}

/** An error reply: the ack's argument when an event was refused or failed. */
export interface ClientErrorReply { error: ClientErrorBody }

/** The payload of an event route's error event, for events sent without an ack: which event, and its error. */
export interface EventErrorMessage extends ClientErrorReply { event: string }

/** The payload of the session error event (`session:error` by default). */
export interface SessionErrorPayload extends ClientErrorReply {
  /** @deprecated The same as `error.code`. */
  code: ClientCode
  /** @deprecated The same as `error.message`. */
  message: string
  /** @deprecated The same as `error.errors`. */
  errors?: ValidationIssue[]
}

/** The messages a client reads: short, stable, and never about which secret part failed. */
const messages: Record<ClientCode, string> = {
  ORIGIN_NOT_ALLOWED: 'origin not allowed',
  INVALID_AUTH: 'invalid handshake auth',
  INVALID_QUERY: 'invalid handshake query',
  SESSION_REQUIRED: 'a valid session is required',
  SESSION_STORE_ERROR: 'session store unavailable, retry later',
  SESSION_SAVE_FAILED: 'the session could not be saved',
  SESSION_DESTROYED: 'the session ended (logout or a new login)',
  SESSION_EXPIRED: 'the session expired',
  INVALID_PAYLOAD: 'invalid payload',
  FORBIDDEN: 'forbidden',
  HANDLER_ERROR: 'the event could not be handled',
  RATE_LIMITED: 'too many events, retry later',
  UNKNOWN_EVENT: 'unknown event'
}

/** The body of one of the plugin's codes. */
export function clientError (code: ClientCode, errors?: ValidationIssue[]): ClientErrorBody {
  return errors === undefined ? { code, message: messages[code] } : { code, message: messages[code], errors }
}

/** The payload of the session error event: the body, and its fields again at the top (as sent before `error`). */
export function sessionError (code: ClientCode, errors?: ValidationIssue[]): SessionErrorPayload {
  const error = clientError(code, errors)
  return { ...error, code, error }
}

/** The error handed to Socket.IO's `next(err)` at a handshake: the client gets `err.message` and `err.data`. */
export class Refusal extends Error {
  readonly data: ClientErrorBody & { code: ClientCode }
  constructor (code: ClientCode, errors?: ValidationIssue[]) {
    super(messages[code])
    this.data = clientError(code, errors) as ClientErrorBody & { code: ClientCode }
  }
}

/**
 * An error meant for the client: thrown (or passed to `done`) by a hook or handler of an event route, it becomes
 * the error reply `{ error: { code, message } }`. Any other error becomes `HANDLER_ERROR`, and only the log sees it.
 */
export class EventError extends Error {
  readonly code: ClientCode | (string & {})
  /** What is wrong with the payload. */
  readonly errors: ValidationIssue[] | undefined
  /** How long (ms) until the event would be accepted again. */
  readonly retryAfter: number | undefined

  constructor (code: ClientCode | (string & {}), message?: string, details: { errors?: ValidationIssue[], retryAfter?: number } = {}) {
    super(message ?? messages[code as ClientCode] ?? 'event refused')
    this.name = 'EventError'
    this.code = code
    this.errors = details.errors
    this.retryAfter = details.retryAfter
  }

  /** The error reply this error makes. */
  reply (): ClientErrorReply {
    const error: ClientErrorBody = { code: this.code, message: this.message }
    if (this.errors !== undefined) error.errors = this.errors
    if (this.retryAfter !== undefined) error.retryAfter = this.retryAfter
    return { error }
  }
}

// ---- Earlier names of the same things ----

/** @deprecated Use `ClientCodes`. */
export const EventErrorCodes = ClientCodes
/** @deprecated Use `ClientCode`. */
export type EventErrorCode = ClientCode
/** @deprecated Use `ClientErrorBody`. */
export type EventErrorBody = ClientErrorBody
/** @deprecated Use `ClientErrorReply`. */
export type EventErrorReply = ClientErrorReply
/** A refused handshake's `err.data`: a body with one of the plugin's codes. */
export type RefusalData = Refusal['data']
