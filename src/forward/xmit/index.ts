/** Forwarding methods registered by name (dpvs src/ipvs/ip_vs_xmit.c, one module each). */
import type { ForwardMethod } from '../../model/types.js';
import { M_DR, M_FNAT, M_NAT, M_TUN } from '../dests.js';
import { drXmit } from './dr.js';
import { fnatXmit } from './fnat.js';
import { natXmit } from './nat.js';
import { tunXmit } from './tun.js';
import type { XmitModule } from './types.js';

const byName = new Map<ForwardMethod, XmitModule>([
  ['NAT', natXmit],
  ['DR', drXmit],
  ['TUN', tunXmit],
  ['FNAT', fnatXmit],
]);

/** Module by code (connections store the code), index = M_* code. */
const byCode: (XmitModule | undefined)[] = [];
for (const m of byName.values()) byCode[m.code] = m;

/** The module for a method name, or undefined when not supported. */
export function getXmit(name: ForwardMethod): XmitModule | undefined {
  return byName.get(name);
}

/** The module for an M_* code. */
export function xmitByCode(code: number): XmitModule | undefined {
  return byCode[code];
}

/** M_* code of a method name. */
export function methodCode(name: ForwardMethod): number {
  return name === 'NAT' ? M_NAT : name === 'DR' ? M_DR : name === 'TUN' ? M_TUN : M_FNAT;
}

/** Methods the core forwards today. */
export const supportedMethods: readonly ForwardMethod[] = [...byName.keys()];

export type { XmitModule } from './types.js';
