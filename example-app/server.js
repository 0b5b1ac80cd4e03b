import { build } from './app.js'

const port = Number(process.env.PORT) || 3000
const host = process.env.HOST || '127.0.0.1'

let app
let url
try {
  app = await build({ logger: { level: process.env.LOG_LEVEL || 'info' } })
  url = await app.listen({ port, host })
} catch (err) {
  // One line: what failed (an unreachable Redis says where it looked).
  console.error(`example app: could not start: ${err.message}`)
  process.exit(1)
}
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
