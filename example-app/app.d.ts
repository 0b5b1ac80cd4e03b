import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { SessionStore } from '@fastify/session'
import type { TObject, TString } from 'typebox'

/** What a Socket.IO client may send as its handshake query. */
export const Query: TObject<{ room: TString }>

/**
 * Builds the example app (not listening); `opts` are Fastify server options; with `redisUrl`, on Redis (sessions,
 * adapter and chat history; rejects when Redis does not answer); `store` replaces the session store; `nodeName` is
 * shown in the chat page's header.
 */
export function build (opts?: FastifyServerOptions, options?: { redisUrl?: string, store?: SessionStore, nodeName?: string }): Promise<FastifyInstance>
