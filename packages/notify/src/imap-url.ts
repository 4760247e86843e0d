/** An `imap://` or `imaps://` URL read into its parts, its password in nothing shown (the mailbox reader's option). */
import { invalidImapUrl } from './errors.js';

/** What an `imap://` or `imaps://` URL says, without its password in anything shown. */
export interface ImapUrlParts {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  mailbox: string;
  /** `user@host:port/mailbox`: for messages and log lines. */
  label: string;
}

/**
 * Reads `imaps://user:password@host[:993]/MAILBOX` (or `imap://`, port 143, plain: loopback and
 * tests). Percent-encoding is undone in the user, password and mailbox (INBOX when none). Errors
 * name `name` (the variable) and never any part of the URL but its scheme.
 */
export function describeImapUrl(url: string, name = 'the IMAP URL'): ImapUrlParts {
  if (typeof url !== 'string' || !/^imaps?:\/\//i.test(url))
    throw invalidImapUrl(name, 'must be an imaps:// (or imap://) URL: imaps://user:password@host/INBOX');
  const rest = url.slice(url.indexOf('://') + 3);
  const at = rest.lastIndexOf('@');
  if (at < 0) throw invalidImapUrl(name, 'must carry the mailbox user and password: imaps://user:password@host/INBOX');
  if (/[/?#]/.test(rest.slice(0, at)))
    throw invalidImapUrl(
      name,
      'cannot be read as one URL: percent-encode @ / ? # in the user name or password (%40 %2F %3F %23)',
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidImapUrl(name, 'is not a valid URL: percent-encode @ / ? # % in the user name or password');
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalidImapUrl(name, 'has a % that does not start a percent-encoded character (write % as %25)');
    }
  };
  const secure = parsed.protocol.toLowerCase() === 'imaps:';
  const user = decode(parsed.username);
  const pass = decode(parsed.password);
  if (!user || !pass)
    throw invalidImapUrl(name, 'must carry the mailbox user and password: imaps://user:password@host/INBOX');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw invalidImapUrl(name, 'must name a host');
  const port = parsed.port ? Number(parsed.port) : secure ? 993 : 143;
  const mailbox = decode(parsed.pathname.replace(/^\/+/, '')) || 'INBOX';
  const label = `${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${mailbox}`;
  return { host, port, secure, user, pass, mailbox, label: pass.length >= 4 ? label.split(pass).join('***') : label };
}
