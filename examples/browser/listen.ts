/** Starting and stopping the browser demo's HTTP servers. */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Listen on `host:port` (0: a free port); resolves to the server's `http://` URL. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const name = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${name}:${address.port}`
}

/** Close the server, dropping its keep-alive connections. */
export async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
