/**
 * staticweb's HTML pages: the directory listing and the "listing disabled" 404, with
 * Swift's markup so existing site CSS (X-Container-Meta-Web-Listings-Css) still applies.
 */
import type { ObjectListing } from '../../../src/core/types.ts';
import { isoTimestamp } from '../listing-render.ts';

const DOCTYPE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n';

/** Python's html.escape(s, quote=True). */
export function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

/** urllib.parse.quote(s) (safe '/'): what staticweb puts in hrefs. */
export function pyQuote(s: string, safe = '/'): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    out += /[A-Za-z0-9_.\-~]/.test(ch) || safe.includes(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** swift.common.utils.human_readable: 1048576 → "1Mi". */
export function humanReadable(n: number): string {
  let value = n;
  let index = -1;
  const suffixes = 'KMGTPEZY';
  while (value >= 1024 && index + 1 < suffixes.length) {
    index += 1;
    value = pyRound(value / 1024);
  }
  return index === -1 ? String(Math.trunc(value)) : `${pyRound(value)}${suffixes[index]}i`;
}

/** Python 3 round(): halves go to the even neighbour. */
function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function cssPath(css: string, prefix: string): string {
  if (css.startsWith('/') || css.startsWith('http://') || css.startsWith('https://')) return pyQuote(css, ':/');
  return '../'.repeat((prefix.match(/\//g) ?? []).length) + pyQuote(css);
}

export function disabledPage(label: string, css: string | undefined, prefix: string, index: string | undefined): string {
  let body = `${DOCTYPE}<html>\n<head>\n<title>Listing of ${htmlEscape(label)}</title>\n`;
  body += css
    ? `  <link rel="stylesheet" type="text/css" href="${cssPath(css, prefix)}" />\n`
    : '  <style type="text/css">\n   h1 {font-size: 1em; font-weight: bold;}\n   p {font-size: 2}\n  </style>\n';
  body +=
    '</head>\n<body>  <h1>Web Listing Disabled</h1>   <p>The owner of this web site has disabled web listing.   <p>If you are the owner of this web site, you can enable   web listing by setting X-Container-Meta-Web-Listings.</p>';
  if (index)
    body += `<h1>Index File Not Found</h1> <p>The owner of this web site has set  <b>X-Container-Meta-Web-Index: ${index}</b>.  However, this file is not found.</p>`;
  return `${body} </body>\n</html>\n`;
}

export function listingPage(label: string, listing: ObjectListing, prefix: string, css: string | undefined): string {
  let body = `${DOCTYPE}<html>\n <head>\n  <title>Listing of ${htmlEscape(label)}</title>\n`;
  body += css
    ? `  <link rel="stylesheet" type="text/css" href="${cssPath(css, prefix)}" />\n`
    : '  <style type="text/css">\n   h1 {font-size: 1em; font-weight: bold;}\n   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n  </style>\n';
  body +=
    ` </head>\n <body>\n  <h1 id="title">Listing of ${htmlEscape(label)}</h1>\n  <table id="listing">\n   <tr id="heading">\n` +
    '    <th class="colname">Name</th>\n    <th class="colsize">Size</th>\n    <th class="coldate">Date</th>\n   </tr>\n';
  if (prefix)
    body +=
      '   <tr id="parent" class="item">\n    <td class="colname"><a href="../">../</a></td>\n    <td class="colsize">&nbsp;</td>\n    <td class="coldate">&nbsp;</td>\n   </tr>\n';
  for (const e of listing) {
    if (e.kind !== 'subdir') continue;
    const name = e.name.slice(prefix.length);
    body += `   <tr class="item subdir">\n    <td class="colname"><a href="${pyQuote(name)}">${htmlEscape(name)}</a></td>\n    <td class="colsize">&nbsp;</td>\n    <td class="coldate">&nbsp;</td>\n   </tr>\n`;
  }
  for (const e of listing) {
    if (e.kind !== 'object') continue;
    const name = e.name.slice(prefix.length);
    const types = e.contentType.split('/').map((t) => `type-${htmlEscape(t.toLowerCase())}`).join(' ');
    const date = htmlEscape(isoTimestamp(e.lastModified)).split('.')[0]?.replace('T', ' ') ?? '';
    body += `   <tr class="item ${types}">\n    <td class="colname"><a href="${pyQuote(name)}">${htmlEscape(name)}</a></td>\n    <td class="colsize">${humanReadable(e.size)}</td>\n    <td class="coldate">${date}</td>\n   </tr>\n`;
  }
  return `${body}  </table>\n </body>\n</html>\n`;
}
