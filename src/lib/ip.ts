/** IP address helpers shared by config, VRRP and the forwarding core. Pure, allocation-light. */

export type Family = 'ipv4' | 'ipv6';

/** Parses dotted-quad IPv4 to an unsigned 32-bit number, or null when malformed. */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** Formats an unsigned 32-bit number as dotted quad. */
export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Parses an IPv6 address (with ::, optional embedded IPv4, no zone) into 16 bytes, or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.includes('%')) return null;
  const out = new Uint8Array(16);
  let head = s;
  let tail = '';
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const words = (part: string): number[] | null => {
    if (part === '') return [];
    const res: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === null) return null;
        res.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        res.push(parseInt(g, 16));
      }
    }
    return res;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return null;
  if (dbl < 0 && h.length !== 8) return null;
  if (dbl >= 0 && h.length + t.length > 7) return null;
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i]! >> 8;
    out[i * 2 + 1] = all[i]! & 255;
  }
  return out;
}

/** Formats 16 bytes as canonical RFC 5952 IPv6 text. */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** Detects the family of an address literal; null when it is neither. */
export function ipFamily(s: string): Family | null {
  if (parseIPv4(s) !== null) return 'ipv4';
  if (parseIPv6(s) !== null) return 'ipv6';
  return null;
}

/** Canonical text of an address (lower-case, compressed IPv6); null when malformed. */
export function canonicalIp(s: string): string | null {
  const v4 = parseIPv4(s);
  if (v4 !== null) return formatIPv4(v4);
  const v6 = parseIPv6(s);
  return v6 ? formatIPv6(v6) : null;
}

/** IPv4 netmask (uint32) of a prefix length 0..32. */
export function prefixToMask4(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Prefix length of a contiguous IPv4 netmask, or null when the mask is not contiguous. */
export function maskToPrefix4(mask: number): number | null {
  let n = 0;
  while (n < 32 && ((mask >>> (31 - n)) & 1) === 1) n++;
  return prefixToMask4(n) === mask >>> 0 ? n : null;
}

/** True when addr (uint32) lies in net/prefixLen. */
export function inSubnet4(addr: number, net: number, prefixLen: number): boolean {
  const m = prefixToMask4(prefixLen);
  return ((addr & m) >>> 0) === ((net & m) >>> 0);
}

/** True when a and b (text, same family) lie in the same prefix. */
export function sameSubnet(a: string, b: string, prefixLen: number): boolean {
  const a4 = parseIPv4(a);
  const b4 = parseIPv4(b);
  if (a4 !== null && b4 !== null) return inSubnet4(a4, b4, prefixLen);
  const a6 = parseIPv6(a);
  const b6 = parseIPv6(b);
  if (!a6 || !b6) return false;
  for (let bit = 0; bit < prefixLen; bit++) {
    const byte = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((a6[byte]! & m) !== (b6[byte]! & m)) return false;
  }
  return true;
}
