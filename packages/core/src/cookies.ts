/**
 * Every value a raw `Cookie` header carries for one name, in order. Parsers keep only the first of
 * duplicate names, but a sibling subdomain can add its own cookie of the same name ("cookie tossing"):
 * code that must not be fooled by an injected duplicate checks every value. Values are returned as
 * sent (not URL-decoded).
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header || !header.includes(`${name}=`)) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq >= 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}
