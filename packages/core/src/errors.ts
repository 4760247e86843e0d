/**
 * What of an error may be logged: the codes of the error and its causes, nothing else. A driver's
 * message quotes the failed query with its parameters (IPs, user agents, subject ids, secrets).
 */
export function errorCodes(error: unknown): { codes: string[] } {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[\w.-]{1,40}$/.test(code)) codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return { codes };
}
