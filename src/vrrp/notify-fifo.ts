/**
 * The notify FIFO writer keepalived users read from (`notify_fifo`, `vrrp_notify_fifo`).
 * Like keepalived, the FIFO is created when missing and opened read-write and
 * non-blocking, so lvsd never waits for a reader and a full pipe only loses a line.
 *
 * Creating a FIFO takes mkfifo(1) (Node has no mkfifo(2)); that child process runs
 * asynchronously at start and reload (prepare), never inside a state transition: a FIFO
 * that has disappeared meanwhile loses the line being written and is created again in the
 * background for the next one.
 */
import { closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import type { NotifyFifoPort } from './notify.js';

/** Longest mkfifo(1) may take. */
const MKFIFO_TIMEOUT_MS = 2000;

/** NotifyFifoPort over the file system. */
export class NodeNotifyFifo implements NotifyFifoPort {
  private readonly fds = new Map<string, number>();
  private readonly creating = new Map<string, Promise<void>>();

  async prepare(paths: readonly string[]): Promise<void> {
    await Promise.all(paths.map((p) => this.create(p)));
  }

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

  /** Resolves when the FIFO creations started so far have finished (for tests and stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.creating.values()]);
  }

  /** Creates the FIFO if nothing is at `path` (keepalived does the same at start). Never rejects. */
  private create(path: string): Promise<void> {
    const running = this.creating.get(path);
    if (running) return running;
    const p = (async () => {
      try {
        await stat(path);
        return; // a FIFO, or a file the user wants written (opened as such in fdOf)
      } catch {
        /* missing: create it */
      }
      await new Promise<void>((resolve) => {
        execFile('mkfifo', ['-m', '0600', path], { timeout: MKFIFO_TIMEOUT_MS }, () => resolve());
      });
    })().finally(() => this.creating.delete(path));
    this.creating.set(path, p);
    return p;
  }

  private fdOf(path: string): number | null {
    const have = this.fds.get(path);
    if (have !== undefined) return have;
    let isFifo: boolean;
    try {
      isFifo = statSync(path).isFIFO();
    } catch {
      void this.create(path); // gone since prepare(): this line is lost, the next one finds it
      return null;
    }
    try {
      const flags = isFifo ? constants.O_RDWR | constants.O_NONBLOCK : constants.O_WRONLY | constants.O_APPEND;
      const fd = openSync(path, flags, 0o600);
      this.fds.set(path, fd);
      return fd;
    } catch {
      return null;
    }
  }
}
