// Host-side helpers for network tests.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';

/** A UDP socket bound to a free port on 127.0.0.1. */
export async function boundUdpSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** UDP ports on 127.0.0.1 that are free right now, for the ends of tunnels. */
export async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(Array.from({ length: count }, boundUdpSocket));
  const ports = sockets.map((socket) => socket.address().port);
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(resolve))));
  return ports;
}

/** A TCP port on 127.0.0.1 that is free right now. */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A UDP tunnel relay between one fixed peer and a VM that may move: frames
 * from `peer` go to whichever VM-side port heard from the VM last, and back
 * to that sender, so a VM restored with new tunnel addresses reaches the
 * same peer. `heard` lists, per VM-side port, the senders it heard from.
 */
export interface UdpRelay {
  /** The port the peer's tunnel sends to. */
  peerSide: number;
  /** Ports a VM's tunnel may send to. */
  vmSides: number[];
  heard: Map<number, Set<string>>;
  close(): void;
}

export async function startUdpRelay(peer: { address: string; port: number }, vmSideCount: number): Promise<UdpRelay> {
  const peerSocket = await boundUdpSocket();
  const vmSockets = await Promise.all(Array.from({ length: vmSideCount }, boundUdpSocket));
  const heard = new Map(vmSockets.map((socket) => [socket.address().port, new Set<string>()]));
  let vm: { socket: Socket; address: string; port: number } | undefined;
  for (const socket of vmSockets) {
    socket.on('message', (frame, from) => {
      heard.get(socket.address().port)?.add(`${from.address}:${from.port}`);
      vm = { socket, address: from.address, port: from.port };
      peerSocket.send(frame, peer.port, peer.address);
    });
  }
  peerSocket.on('message', (frame) => { if (vm) vm.socket.send(frame, vm.port, vm.address); });
  return {
    peerSide: peerSocket.address().port,
    vmSides: vmSockets.map((socket) => socket.address().port),
    heard,
    close: () => { for (const socket of [peerSocket, ...vmSockets]) socket.close(); },
  };
}

/** A UDP socket on 127.0.0.1 that records who sent it datagrams (HOST:PORT), for a tunnel with no peer. */
export async function udpListener(): Promise<{ port: number; senders: Set<string>; close: () => void }> {
  const socket = await boundUdpSocket();
  const senders = new Set<string>();
  socket.on('message', (_frame, from) => senders.add(`${from.address}:${from.port}`));
  return { port: socket.address().port, senders, close: () => socket.close() };
}
