/**
 * How track files are read and watched. keepalived watches the file's directory with
 * inotify (IN_CLOSE_WRITE, IN_DELETE, IN_MOVE) and re-reads the file on each event; here
 * fs.watch on the directory gives the same immediacy, and a poll through the injected
 * Clock catches what a watch can miss (a directory that appears later, an editor's
 * rename dance).
 */
import { mkdirSync, readFileSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Clock, TimerHandle } from '../lib/clock.js';

/** Reading and watching track files (a port, so tests can feed values). */
export interface TrackFilePort {
  /** The file's first bytes as text, or null when it cannot be read. */
  read(path: string): string | null;
  /** Writes the file (track_file `init_file`); false on failure. */
  write(path: string, text: string): boolean;
  /** Calls fn when the file may have changed; returns the unsubscribe function. */
  watch(path: string, fn: () => void): () => void;
}

/** How often the poll fallback re-reads a watched file. */
export const TRACK_FILE_POLL_MS = 1000;

/** TrackFilePort over the file system. */
export class NodeTrackFiles implements TrackFilePort {
  private readonly clock: Clock;
  constructor(clock: Clock) {
    this.clock = clock;
  }

  read(path: string): string | null {
    try {
      return readFileSync(path, 'latin1').slice(0, 127);
    } catch {
      return null;
    }
  }

  write(path: string, text: string): boolean {
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return true;
    } catch {
      return false;
    }
  }

  watch(path: string, fn: () => void): () => void {
    let w: FSWatcher | null = null;
    try {
      const name = basename(path);
      w = watch(dirname(path), { persistent: false }, (_ev, f) => {
        if (f === null || f === name) fn();
      });
      w.on('error', () => {});
    } catch {
      w = null; // directory missing: the poll still sees the file appear
    }
    let handle: TimerHandle | null = null;
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      fn();
      handle = this.clock.setTimer(TRACK_FILE_POLL_MS, tick);
    };
    handle = this.clock.setTimer(TRACK_FILE_POLL_MS, tick);
    return () => {
      stopped = true;
      handle?.cancel();
      w?.close();
    };
  }
}
