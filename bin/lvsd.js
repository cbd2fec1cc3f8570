#!/usr/bin/env node
import { lvsdMain } from '../dist/cli/lvsd.js';

// The daemon resolves only after a clean stop; exit explicitly so no leftover handle
// (a socket a subsystem failed to close) keeps a stopped daemon alive.
process.exit(await lvsdMain(process.argv.slice(2)));
