import { ClientCodes, type ClientCode } from '../client-errors.js'

// ---- The errors a client receives, as JSON Schemas of the document's components ----

/** What each of the plugin's codes means (the README's "Error codes" table in short). */
const meanings: Record<ClientCode, string> = {
  ORIGIN_NOT_ALLOWED: 'handshake: the page\'s origin may not open a socket',
  INVALID_AUTH: 'handshake: `auth` does not match the auth schema',
  INVALID_QUERY: 'handshake: the query does not match the query schema',
  SESSION_REQUIRED: 'handshake: no valid stored session, and one is required',
  SESSION_STORE_ERROR: 'handshake: the session store did not answer; retry',
  SESSION_SAVE_FAILED: 'a change of the session was not saved',
  SESSION_DESTROYED: 'the session ended (logout, a new login); a disconnect follows',
  SESSION_EXPIRED: 'the session expired; a disconnect follows',
  INVALID_PAYLOAD: 'event: the payload does not match the event\'s schema',
  FORBIDDEN: 'event: a hook refused it',
  HANDLER_ERROR: 'event: the handler or a hook failed',
  RATE_LIMITED: 'event: over a rate limit; `retryAfter` says when to try again',
  UNKNOWN_EVENT: 'an event no route or listener handles'
}

/** Which codes each kind of error can carry, for the messages' descriptions. */
export const codesOf = {
  handshake: ['ORIGIN_NOT_ALLOWED', 'INVALID_AUTH', 'INVALID_QUERY', 'SESSION_REQUIRED', 'SESSION_STORE_ERROR'],
  event: ['INVALID_PAYLOAD', 'FORBIDDEN', 'HANDLER_ERROR', 'RATE_LIMITED', 'SESSION_SAVE_FAILED'],
  session: ['SESSION_SAVE_FAILED', 'SESSION_DESTROYED', 'SESSION_EXPIRED']
} satisfies Record<string, ClientCode[]>

/** Where the document keeps a schema of its components. */
export const schemaRef = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` })

/** The components' schemas of every error body the plugin sends. */
export function errorSchemas (): Record<string, unknown> {
  const body = schemaRef('ClientErrorBody')
  const issues = { type: 'array', items: schemaRef('ValidationIssue'), description: 'What is wrong with the data (INVALID_AUTH, INVALID_QUERY, INVALID_PAYLOAD).' }
  return {
    ClientCode: {
      type: 'string',
      enum: Object.keys(ClientCodes),
      description: `The plugin's own codes:\n\n${Object.entries(meanings).map(([code, meaning]) => `- \`${code}\`: ${meaning}`).join('\n')}`
    },
    ValidationIssue: {
      type: 'object',
      required: ['path', 'message'],
      properties: { path: { type: 'string', description: 'Where, as a JSON pointer (empty: the whole value).' }, message: { type: 'string' } },
      description: 'One validation problem: where, and what is wrong (never the value).'
    },
    ClientErrorBody: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { anyOf: [schemaRef('ClientCode'), { type: 'string', description: 'A code of the application\'s own hooks and handlers.' }] },
        message: { type: 'string', description: 'For people; stable, and never about which secret part failed.' },
        errors: issues,
        retryAfter: { type: 'integer', minimum: 0, description: 'How long (ms) until the event would be accepted again (RATE_LIMITED).' }
      },
      description: 'What every error a client receives says: a stable code, a message, and details where there are some.'
    },
    ClientErrorReply: {
      type: 'object',
      required: ['error'],
      properties: { error: body },
      description: 'The ack\'s argument when an event was refused or failed.'
    },
    EventErrorMessage: {
      type: 'object',
      required: ['event', 'error'],
      properties: { event: { type: 'string', description: 'The event that failed.' }, error: body },
      description: 'The error of an event sent without an ack.'
    },
    SessionErrorPayload: {
      type: 'object',
      required: ['error', 'code', 'message'],
      properties: {
        error: body,
        code: { allOf: [schemaRef('ClientCode')], description: 'Deprecated: the same as error.code.' },
        message: { type: 'string', description: 'Deprecated: the same as error.message.' },
        errors: { ...issues, description: 'Deprecated: the same as error.errors.' }
      },
      description: 'The session could not be saved, or it ended.'
    }
  }
}

/** "`A`, `B` or `C`": some codes (two at least), for a description. */
export function listCodes (codes: readonly string[]): string {
  const quoted = codes.map((code) => `\`${code}\``)
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`
}
