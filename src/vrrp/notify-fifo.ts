/**
 * The notify FIFO writer keepalived users read from (`notify_fifo`, `vrrp_notify_fifo`).
 * Like keepalived, the FIFO is created when missing and opened read-write and
 * non-blocking, so lvsd never waits for a reader and a full pipe only loses a line.
 */
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { NotifyFifoPort } from './notify.js';

/** NotifyFifoPort over the file system. */
export class NodeNotifyFifo implements NotifyFifoPort {
  private readonly fds = new Map<string, number>();

  write(path: string, line: string): boolean {
    const fd = this.fdOf(path);
    if (fd === null) return false;
    try {
      writeSync(fd, line);
      return true;
    } catch {
      return false; // EAGAIN: the pipe is full and nobody reads
    }
  }

  close(): void {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    this.fds.clear();
  }

  private fdOf(path: string): number | null {
    const have = this.fds.get(path);
    if (have !== undefined) return have;
    try {
      let isFifo = false;
      try {
        isFifo = statSync(path).isFIFO();
      } catch {
        // keepalived creates the FIFO when it does not exist; Node has no mkfifo(2)
        spawnSync('mkfifo', ['-m', '0600', path], { stdio: 'ignore', timeout: 2000 });
        isFifo = statSync(path).isFIFO();
      }
      const flags = isFifo ? constants.O_RDWR | constants.O_NONBLOCK : constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
      const fd = openSync(path, flags, 0o600);
      this.fds.set(path, fd);
      return fd;
    } catch {
      return null;
    }
  }
}
