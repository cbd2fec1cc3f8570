/**
 * Runs each checker given as JSON (argv[2]: an array of Checker) once with the real probes
 * and prints their outcomes as one JSON line. The netns tests start it inside a namespace.
 */
import { createProbe } from '../../../src/check/probe.js';
import { systemClock } from '../../../src/lib/clock.js';
import { ChildScriptRunner } from '../../../src/io/script-runner.js';
import type { Checker } from '../../../src/model/types.js';

const checkers = JSON.parse(process.argv[2] ?? '[]') as Checker[];
const warnings: string[] = [];
const ctx = { clock: systemClock, scripts: new ChildScriptRunner(), warn: (m: string) => warnings.push(m) };
const outcomes = [];
for (const c of checkers) {
  const p = createProbe(c, ctx);
  outcomes.push(await p.run());
  p.close();
}
process.stdout.write(`${JSON.stringify({ outcomes, warnings })}\n`);
