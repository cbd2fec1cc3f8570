#!/usr/bin/env node
import { lvsadmMain } from '../dist/cli/lvsadm.js';

process.exitCode = await lvsadmMain(process.argv.slice(2));
