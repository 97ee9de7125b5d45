// Starts the reference AT Protocol stack (PLC + PDS + AppView, from @atproto/dev-env) on
// loopback ports for Parley's Bluesky tests, prints one JSON line with the URLs, and runs until
// its standard input closes (or SIGTERM/SIGINT), then closes every service.
//
// Environment: DB_POSTGRES_URL (the AppView's PostgreSQL), DB_POSTGRES_SCHEMA (a prefix unique to
// this run), REDIS_HOST (host:port).
import { TestNetwork } from '@atproto/dev-env'

const started = Date.now()
const network = await TestNetwork.create({
  dbPostgresUrl: process.env.DB_POSTGRES_URL,
  dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA,
})

let closing = false
async function shutdown(code) {
  if (closing) return
  closing = true
  try {
    await network.close()
  } catch (err) {
    console.error('close failed:', err)
    code = code || 1
  }
  process.exit(code)
}
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.stdin.on('end', () => shutdown(0))
process.stdin.on('close', () => shutdown(0))
process.stdin.resume()

process.stdout.write(
  JSON.stringify({
    pid: process.pid,
    plc: network.plc.url,
    pds: network.pds.url,
    appview: network.bsky.url,
    startup_ms: Date.now() - started,
  }) + '\n',
)
