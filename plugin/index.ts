import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { SocketSessionOptions } from './options.js'
import { createRegistration } from './registration.js'
import './types.js'

// ---- The plugin: its Fastify metadata, and what the package exports ----

/** Gives every Socket.IO connection the Fastify session of its browser, saved when a listener changes it. */
async function fastifySocketIoSession (fastify: FastifyInstance, opts: SocketSessionOptions): Promise<void> {
  createRegistration(fastify, opts)
}

/** The plugin, with its Fastify metadata. */
const plugin = fp(fastifySocketIoSession, {
  fastify: '5.x',
  name: 'fastify-socket.io-session',
  dependencies: ['@fastify/cookie', '@fastify/session']
})

export default plugin
export { plugin as fastifySocketIoSession }
export { RedisStore, type NodeRedisClient, type RedisClient, type RedisStoreOptions } from './redis/store.js'
export type { OriginCheck, SocketSessionOptions } from './options.js'
export type { HandshakeData } from './types.js'
export { withHandshakeData, type HandshakeDataOf, type WithSocketData } from './handshake-data.js'
export {
  ClientCodes, EventError, EventErrorCodes, type ClientCode, type ClientErrorBody, type ClientErrorReply, type EventErrorBody, type EventErrorCode,
  type EventErrorMessage, type EventErrorReply, type RefusalData, type SessionErrorPayload, type ValidationIssue
} from './client-errors.js'
export type { EventsOptions, KeyGenerator } from './routes/options.js'
export type { AsyncApiDocument } from './asyncapi/document.js'
export type { AsyncApiInfo, AsyncApiOptions, AsyncApiServer } from './asyncapi/options.js'
export type { EventDocs, Tag } from './routes/docs.js'
export type { RateLimit } from './routes/rate-limit.js'
export type { ClientEvents, EventHandler, EventRoute, EventRouteOptions, OnErrorHook, PreHandlerHook, RouteAck, ServerEventOptions, ServerEventRoute, ServerEvents } from './routes/types.js'
