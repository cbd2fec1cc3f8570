/** MAC address helpers. */

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes, or null. */
export function parseMac(s: string): Uint8Array | null {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return null;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes (at offset) as lower-case colon-separated text. */
export function formatMac(b: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[offset + i]!.toString(16).padStart(2, '0');
  return s;
}

/** The VRRP virtual MAC (RFC 5798 §7.3): 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6. */
export function vrrpVirtualMac(vrid: number, family: 'ipv4' | 'ipv6'): Uint8Array {
  return Uint8Array.from([0x00, 0x00, 0x5e, 0x00, family === 'ipv4' ? 0x01 : 0x02, vrid & 255]);
}
