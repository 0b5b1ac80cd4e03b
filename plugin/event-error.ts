import type { ValidationIssue } from './errors.js'

// ---- The error reply of an event route ----

/** The codes the plugin itself puts in an event's error reply; hooks and handlers may use their own too. */
export const EventErrorCodes = {
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  FORBIDDEN: 'FORBIDDEN',
  HANDLER_ERROR: 'HANDLER_ERROR',
  RATE_LIMITED: 'RATE_LIMITED',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  SESSION_SAVE_FAILED: 'SESSION_SAVE_FAILED'
} as const

/** A code of the plugin's own. */
export type EventErrorCode = keyof typeof EventErrorCodes

/** What an event's error reply says: a stable code, a message for people, and details where there are some. */
export interface EventErrorBody {
  code: EventErrorCode | (string & {})
  message: string
  /** What is wrong with the payload (`INVALID_PAYLOAD`): where, and what (never the value). */
  errors?: ValidationIssue[]
  /** How long (ms) until the event would be accepted again (`RATE_LIMITED`). */
  retryAfter?: number
}

/** The ack's argument when an event was refused or failed. */
export interface EventErrorReply { error: EventErrorBody }

/** The error event's payload, for events sent without an ack: which event, and its error reply. */
export interface EventErrorMessage extends EventErrorReply { event: string }

/** The default messages of the plugin's codes. */
const messages: Record<EventErrorCode, string> = {
  INVALID_PAYLOAD: 'invalid payload',
  FORBIDDEN: 'forbidden',
  HANDLER_ERROR: 'the event could not be handled',
  RATE_LIMITED: 'too many events, retry later',
  UNKNOWN_EVENT: 'unknown event',
  SESSION_SAVE_FAILED: 'the session could not be saved'
}

/**
 * An error meant for the client: thrown (or passed to `done`) by a hook or handler, it becomes the error reply
 * `{ error: { code, message } }`. Any other error becomes `HANDLER_ERROR`, and only the server's log sees it.
 */
export class EventError extends Error {
  readonly code: EventErrorCode | (string & {})
  /** What is wrong with the payload. */
  readonly errors: ValidationIssue[] | undefined
  /** How long (ms) until the event would be accepted again. */
  readonly retryAfter: number | undefined

  constructor (code: EventErrorCode | (string & {}), message?: string, details: { errors?: ValidationIssue[], retryAfter?: number } = {}) {
    super(message ?? messages[code as EventErrorCode] ?? 'event refused')
    this.name = 'EventError'
    this.code = code
    this.errors = details.errors
    this.retryAfter = details.retryAfter
  }

  /** The error reply this error makes. */
  reply (): EventErrorReply {
    const error: EventErrorBody = { code: this.code, message: this.message }
    if (this.errors !== undefined) error.errors = this.errors
    if (this.retryAfter !== undefined) error.retryAfter = this.retryAfter
    return { error }
  }
}
