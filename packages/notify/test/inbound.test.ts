// Issue 32: a received message read for a machine. Its sender, thread ids and text come out; a
// machine's message (RFC 3834) is recognised, so nothing answers it; a malformed message never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAddress } from '../src/inbound.js';
import { describeImapUrl, readInbound } from '../src/index.js';

const mail = (headers: string, body = 'Please delete my data.') =>
  Buffer.from(`${headers.trim().replace(/\n/g, '\r\n')}\r\n\r\n${body}\r\n`);

describe('readInbound', () => {
  it('reads the sender, subject, Message-ID, thread and text of a person’s message', async () => {
    const read = await readInbound(
      mail(`From: "Wanjiru K." <Wanjiru@Example.ORG>
To: privacy@harakaflow.io
Subject: =?UTF-8?B?RnV0YSBkYXRhIHlhbmd1?=
Message-ID: <abc@mail.example.org>
In-Reply-To: <note-1@harakaflow.test>
References: <first@mail.example.org> <note-1@harakaflow.test>`),
    );
    expect(read).toEqual({
      from: 'wanjiru@example.org',
      subject: 'Futa data yangu',
      messageId: 'abc@mail.example.org',
      thread: ['note-1@harakaflow.test', 'first@mail.example.org'],
      automatic: null,
      text: 'Please delete my data.\n',
    });
  });

  it.each([
    ['Auto-Submitted: auto-replied', 'Auto-Submitted: auto-replied'],
    ['Auto-Submitted: auto-generated; owner-email="x@y.z"', 'Auto-Submitted: auto-generated'],
    ['Precedence: bulk', 'Precedence: bulk'],
    ['Precedence: list', 'Precedence: list'],
    ['List-Id: <announce.example.org>', 'mailing-list mail (List-Id)'],
    ['Content-Type: multipart/report; report-type=delivery-status; boundary="b"', 'a delivery or read report'],
    ['Return-Path: <>', 'a bounce (empty Return-Path)'],
    ['X-Autoreply: yes', 'an auto-reply'],
  ])('sees a machine in %s', async (header, why) => {
    expect((await readInbound(mail(`From: a@example.org\n${header}\nSubject: x`))).automatic).toBe(why);
  });

  it('answers a person who says Auto-Submitted: no, and not a bounce address or a missing sender', async () => {
    expect((await readInbound(mail('From: a@example.org\nAuto-Submitted: no\nSubject: x'))).automatic).toBeNull();
    expect((await readInbound(mail('From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered'))).automatic).toBe(
      'a machine sender',
    );
    const nobody = await readInbound(mail('Subject: who?'));
    expect(nobody).toMatchObject({ from: null, automatic: 'no valid From address' });
    expect((await readInbound(mail('From: not an address\nSubject: x'))).from).toBeNull();
  });

  it('keeps the text part only of a message with HTML, and never throws on arbitrary bytes', async () => {
    const boundary = 'b1';
    const read = await readInbound(
      mail(
        `From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="${boundary}"`,
        `--${boundary}\r\nContent-Type: text/plain\r\n\r\nplain words\r\n--${boundary}\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script><b>html words</b>\r\n--${boundary}--`,
      ),
    );
    expect(read.text).toContain('plain words');
    expect(read.text).not.toContain('<script>');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4000 }), async (bytes) => {
        const r = await readInbound(bytes);
        expect(typeof r.text).toBe('string');
        expect(r.from === null || isAddress(r.from)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe('describeImapUrl', () => {
  it('reads the parts and shows the password nowhere', () => {
    const u = describeImapUrl('imaps://privacy%40harakaflow.io:s3cr%2Ft-Pa55@mail.example.org/Privacy%20Requests');
    expect(u).toMatchObject({
      host: 'mail.example.org',
      port: 993,
      secure: true,
      user: 'privacy@harakaflow.io',
      pass: 's3cr/t-Pa55',
      mailbox: 'Privacy Requests',
    });
    expect(u.label).toBe('privacy@harakaflow.io@mail.example.org:993/Privacy Requests');
    expect(describeImapUrl('imap://u:password@127.0.0.1:1143').mailbox).toBe('INBOX');
  });

  it('refuses a bad URL naming the variable, never a part of the URL', () => {
    for (const bad of [
      'http://u:Hunter2secret@host/INBOX',
      'imaps://host/INBOX',
      'imaps://user@host',
      'imaps://u:Hunter2/secret@host/INBOX',
      'imaps://u:Hunter2%zzsecret@host',
      'imaps://u:Hunter2secret@/INBOX',
    ]) {
      let message = '';
      try {
        describeImapUrl(bad, 'PRIVACY_IMAP_URL');
      } catch (error) {
        message = (error as Error).message;
        expect((error as { code?: string }).code).toBe('HF_NOTIFY_INVALID_OPTION');
      }
      expect(message).toMatch(/^PRIVACY_IMAP_URL /);
      expect(message).not.toMatch(/Hunter2/);
    }
  });
});
