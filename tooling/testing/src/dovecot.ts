/**
 * A real IMAP server for tests (issue 32): Debian's dovecot-imapd, started by the test as a process
 * of its own (in the foreground, `-F`) on a free loopback port, with its own directory for its
 * configuration, runtime files, log and maildirs: no system path is written, and two runs of the
 * suite can share the machine. One user in a passwd-file, plaintext login allowed (loopback only,
 * no TLS). Mail is put into the box through IMAP APPEND, as a delivery agent would leave it.
 * Missing binary: `dovecotAvailable` is false (the tests skip), or, under REQUIRE_SERVICES=1
 * (.ci/run installs dovecot-imapd), startDovecot() throws naming the package.
 */
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
// imapflow is loaded by the tests that start Dovecot, not by every file importing this package.
import type { ImapFlow } from 'imapflow';
import { freePort } from './ports.js';
import { findProgram, startProcess, type StartedProcess } from './processes.js';
import { requireServices } from './services.js';

const binary = findProgram('dovecot', ['/usr/sbin']);

/** False when dovecot is not installed and REQUIRE_SERVICES is unset: the tests that need it skip. */
export const dovecotAvailable = Boolean(binary) || requireServices;

export interface TestDovecot {
  port: number;
  user: string;
  password: string;
  /** `imap://user:password@127.0.0.1:port/INBOX` (the password percent-encoded). */
  url: string;
  /** The same URL for another mailbox (created by `append` or `recreate`). */
  urlOf(mailbox: string): string;
  /** Puts a raw RFC 822 message into a mailbox (INBOX) through IMAP APPEND; resolves to its UID. */
  append(raw: string | Buffer, options?: { date?: Date; mailbox?: string }): Promise<number>;
  /**
   * Deletes a mailbox (not INBOX, which IMAP cannot delete) and creates it again, empty, under a new UIDVALIDITY (a
   * mailbox restored or moved).
   */
  recreate(mailbox: string): Promise<void>;
  /** The server's log (dovecot.log): what it said, for a failing test. */
  log(): Promise<string>;
  /** Stops it (SIGTERM, then its directory removed). */
  close(): Promise<void>;
}

/** The uid and gid of a system user (dovecot refuses to give mail to root; as root, mail runs as `nobody`). */
async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`dovecot: running as root, and there is no user "${name}" to run it as`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('* OK')));
    socket.once('error', () => done(false));
  });

/** Starts dovecot; call it in beforeAll and `close()` it in afterAll. */
export async function startDovecot(): Promise<TestDovecot> {
  if (!binary) throw new Error('dovecot is not installed (apt-get install -y dovecot-imapd)');
  const dir = await mkdtemp(join(tmpdir(), 'hf-dovecot-'));
  const asRoot = process.getuid?.() === 0;
  const me = userInfo();
  const mailUser = asRoot ? await systemUser('nobody') : { uid: me.uid, gid: me.gid };
  const user = 'privacy';
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  await mkdir(join(dir, 'mail'), { recursive: true });
  if (asRoot) {
    await chmod(dir, 0o755);
    await chown(join(dir, 'mail'), mailUser.uid, mailUser.gid);
  }
  await writeFile(
    join(dir, 'users'),
    `${user}:{PLAIN}${password}:${mailUser.uid}:${mailUser.gid}::${join(dir, 'mail', user)}::\n`,
    { mode: 0o644 },
  );
  let started: StartedProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    port = await freePort();
    await writeFile(
      join(dir, 'dovecot.conf'),
      [
        `base_dir = ${join(dir, 'run')}`,
        `state_dir = ${join(dir, 'state')}`,
        `instance_name = hf-test-${port}`,
        `log_path = ${join(dir, 'dovecot.log')}`,
        `info_log_path = ${join(dir, 'dovecot.log')}`,
        'protocols = imap',
        'listen = 127.0.0.1',
        'ssl = no',
        'disable_plaintext_auth = no',
        'auth_mechanisms = plain login',
        `default_internal_user = ${asRoot ? 'dovecot' : me.username}`,
        `default_login_user = ${asRoot ? 'dovenull' : me.username}`,
        'first_valid_uid = 1',
        `mail_location = maildir:${join(dir, 'mail', '%u')}`,
        `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u ${join(dir, 'users')}\n}`,
        `userdb {\n  driver = passwd-file\n  args = username_format=%u ${join(dir, 'users')}\n}`,
        `service imap-login {\n  chroot =\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
        'service anvil {\n  chroot =\n}',
        'service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}',
        '',
      ].join('\n'),
    );
    try {
      started = await startProcess(binary, ['-F', '-c', join(dir, 'dovecot.conf')], {
        cwd: dir,
        ready: () => answers(port),
        tail: async () =>
          (await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '(no log)')).split('\n').slice(-6).join(' | '),
        name: `dovecot on port ${port}`,
      });
    } catch (error) {
      // The port taken meanwhile by another process: try another one.
      if (attempt === 2 || !/Address already in use/.test(String(error))) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const client = async <T>(work: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const { ImapFlow } = await import('imapflow');
    const c = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      auth: { user, pass: password },
      logger: false,
      disableAutoIdle: true,
    });
    c.on('error', () => {});
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.logout().catch(() => c.close());
    }
  };
  return {
    port,
    user,
    password,
    url: `imap://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/INBOX`,
    urlOf: (mailbox) =>
      `imap://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(mailbox)}`,
    append: (raw, options = {}) =>
      client(async (c) => {
        const box = options.mailbox ?? 'INBOX';
        if (box !== 'INBOX') await c.mailboxCreate(box).catch(() => {});
        const done = await c.append(
          box,
          typeof raw === 'string' ? Buffer.from(raw.replace(/\r?\n/g, '\r\n')) : raw,
          [],
          options.date,
        );
        if (!done || done.uid === undefined) throw new Error('dovecot: APPEND did not say the UID');
        return done.uid;
      }),
    recreate: (mailbox) =>
      client(async (c) => {
        await c.mailboxDelete(mailbox).catch(() => {});
        await c.mailboxCreate(mailbox);
      }),
    log: () => readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => ''),
    close: async () => {
      await started?.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
