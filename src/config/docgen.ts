/**
 * Renders the keyword reference of docs/configuration.md from the keyword table, so the
 * documentation lists exactly the keywords the parser knows. test/unit/config/docs.test.ts
 * checks the document is current; `npx tsx test/golden/config/regen.ts` rewrites it.
 */
import { allBlocks, ROOT, type BlockSpec, type KwSpec } from './keywords.js';

/** Markers around the generated part of docs/configuration.md. */
export const DOC_BEGIN = '<!-- keyword reference: generated from src/config/keywords.ts, do not edit by hand -->';
export const DOC_END = '<!-- end of keyword reference -->';

const esc = (s: string) => s.replace(/\|/g, '\\|');

function syntaxOf(k: KwSpec): string {
  switch (k.t) {
    case 'block': return '`{ ... }`';
    case 'named': return code(`${k.syntax ?? 'NAME'} { ... }`);
    case 'namedList': return code(`${k.syntax ?? 'NAME'} { ${k.lineSyntax} }`) + ', one per line';
    case 'keyed': return code(`${k.syntax ?? 'HEADER'} { ... }`);
    case 'repeat': return '`{ ... }`, repeatable';
    case 'list': return code(`{ ${k.syntax ?? 'LINE'} }`) + ', one per line';
    default: return k.syntax ? code(k.syntax) : '';
  }
}

const code = (s: string) => '`' + esc(s) + '`';

function meaningOf(k: KwSpec): string {
  let s = k.doc;
  if ('canonical' in k && k.canonical) {
    s += 'inverse' in k && k.inverse ? ` Sets \`${k.canonical}\` off.` : ` Same as \`${k.canonical}\`.`;
  }
  if ('deprecated' in k && k.deprecated) s += ` keepalived calls it deprecated (${k.deprecated}): a warning.`;
  if (k.compat) s += ` *Compatibility:* ${k.compat}`;
  if (k.ext) s += ' **lvsd extension.**';
  return esc(s);
}

/** The generated Markdown (without the markers). */
export function renderKeywordReference(): string {
  const out: string[] = [];
  const done = new Map<Readonly<Record<string, KwSpec>>, string>();
  for (const b of allBlocks() as BlockSpec[]) {
    const title = b === ROOT ? 'Top level' : `\`${b.name}\``;
    const same = done.get(b.keywords);
    if (same) {
      out.push(`### ${title}`, '', `The same keywords as ${same}.`, '');
      continue;
    }
    done.set(b.keywords, title);
    const entries = Object.entries(b.keywords);
    const supported = entries.filter(([, k]) => k.t !== 'unsupported');
    const unsupported = entries.filter(([, k]) => k.t === 'unsupported');
    out.push(`### ${title}`, '');
    out.push('| keyword | syntax | meaning | default |', '|---|---|---|---|');
    for (const [kw, k] of supported) {
      out.push(`| \`${kw}\` | ${syntaxOf(k)} | ${meaningOf(k)} | ${esc(k.def ?? '')} |`);
    }
    out.push('');
    if (unsupported.length) {
      out.push(`Accepted, not supported yet (each one a \`WARN_CONFIG_UNSUPPORTED\` warning naming it; the file still loads): `
        + unsupported.map(([kw, k]) => `\`${kw}\`${'deprecated' in k && k.deprecated ? ' (deprecated in keepalived)' : ''}`).join(', ') + '.', '');
    }
  }
  return out.join('\n');
}
