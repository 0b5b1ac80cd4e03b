import { build } from './app.js'

const app = await build({ logger: { level: process.env.LOG_LEVEL || 'info' } })
const port = Number(process.env.PORT) || 3000
const host = process.env.HOST || '127.0.0.1'

const url = await app.listen({ port, host })
app.log.info(`example app: open ${url} in a browser`)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.log.info(`${signal} received, closing`)
    app.close().then(() => process.exit(0), (err) => {
      app.log.error(err)
      process.exit(1)
    })
  })
}
