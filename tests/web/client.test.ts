/**
 * The web client end to end, in headless Chromium: two people register, are matched, chat
 * (typing, read ticks, reactions), rename, lose the network and come back, page history, see
 * badges across tabs and close the room. One phone-sized and one desktop browser; a screenshot
 * of each step goes to test-results/web/. Every wait is for a DOM state, never a fixed time, and
 * any console error fails the suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { matchPair, TestSocket, uniqueName } from '../support/client.js';
import { findChromium, launchChromium, SCREENSHOT_DIR, WatchedPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sendPaced } from '../support/ws.js';

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.log('SKIPPED: web client browser suite: no Chromium binary (apt-get install chromium, or set CHROMIUM_PATH)');
}

const PHONE = { width: 390, height: 800 };
const DESKTOP = { width: 1280, height: 800 };

describe('web client in Chromium', {
  skip: chromiumPath ? false : 'no Chromium binary (apt-get install chromium, or set CHROMIUM_PATH)',
}, () => {
  let server: TestServer;
  let browser: Browser;
  let alice: BrowserContext;
  let bob: BrowserContext;
  let a: WatchedPage;
  let b: WatchedPage;
  let b2: WatchedPage | undefined;
  const aliceName = uniqueName('alice');
  const bobName = uniqueName('bob');
  let roomId = '';

  /** Alice's sockets pass through this proxy, so a step can cut her network. */
  const aliceSockets = new Set<WebSocketRoute>();
  let aliceOffline = false;
  let swallowNextAck = false;

  before(async () => {
    server = await startTestServer();
    browser = await launchChromium(chromiumPath!);
    alice = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    bob = await browser.newContext({ viewport: DESKTOP });
    for (const context of [alice, bob]) context.setDefaultTimeout(10_000);
    await alice.routeWebSocket(/\/ws\//, (ws) => {
      if (aliceOffline) {
        ws.close({ code: 4000, reason: 'offline' });
        return;
      }
      aliceSockets.add(ws);
      const upstream = ws.connectToServer();
      upstream.onMessage((data) => {
        if (swallowNextAck && String(data).includes('"message_ack"')) {
          // the message is stored, but its ack never reaches the page; then the line drops
          swallowNextAck = false;
          ws.close({ code: 4001, reason: 'dropped' });
          return;
        }
        ws.send(data);
      });
      upstream.onClose(() => ws.close());
      ws.onClose(() => {
        aliceSockets.delete(ws);
        upstream.close();
      });
    });
  });

  after(async () => {
    const pages = [a, b, b2].filter((p): p is WatchedPage => !!p);
    await browser?.close();
    await server?.close();
    for (const page of pages) assert.deepEqual(page.errors, [], `console errors on ${page.name}'s page`);
  });

  const el = (page: Page, selector: string) => page.locator(selector);
  const messageItems = (page: Page, text: string) => page.locator('.messages li', { has: page.getByText(text, { exact: true }) });

  /** Resolves when the page has exactly `count` messages with this text (never a duplicate). */
  async function seeMessageTimes(page: Page, text: string, count: number): Promise<void> {
    // runs in the page (this file is compiled without the DOM's types)
    await page.waitForFunction(
      ([t, n]) =>
        [...(globalThis as any).document.querySelectorAll('.messages .text')].filter((e: any) => e.textContent === t).length === n,
      [text, count] as const,
    );
  }

  test('register: the server validation messages show next to each field', async () => {
    a = await WatchedPage.open(alice, 'alice-phone', server.url);
    await a.page.getByRole('link', { name: 'Create an account' }).click();
    await a.page.getByLabel('Pseudo').fill('x');
    await a.page.getByLabel('Email').fill('not-an-email');
    await a.page.getByLabel('Password').fill('short');
    a.expectConsoleError(/status of 400/);
    await a.page.getByRole('button', { name: 'Create account' }).click();
    await el(a.page, '#f-pseudo-error').filter({ hasText: 'Pseudo must' }).waitFor();
    await el(a.page, '#f-email-error').filter({ hasText: 'Email must' }).waitFor();
    await el(a.page, '#f-password-error').filter({ hasText: 'Password must' }).waitFor();
    assert.equal(await a.page.getByLabel('Pseudo').getAttribute('aria-invalid'), 'true');
    await a.screenshot('01-register-errors');

    await a.page.getByLabel('Pseudo').fill(aliceName);
    await a.page.getByLabel('Email').fill(`${aliceName}@example.com`);
    await a.page.getByLabel('Country').selectOption('FR');
    await a.page.getByLabel('Password').fill('correct horse');
    await a.page.getByRole('button', { name: 'Create account' }).click();
    await a.page.getByRole('button', { name: 'Find a match' }).waitFor();
    await a.screenshot('02-lobby');
  });

  test('register, log out, log in by pseudo; a reload stays logged in', async () => {
    b = await WatchedPage.open(bob, 'bob-desktop', `${server.url}/#/register`);
    await b.page.getByLabel('Pseudo').fill(bobName);
    await b.page.getByLabel('Email').fill(`${bobName}@example.com`);
    await b.page.getByLabel('Country').selectOption('NG');
    await b.page.getByLabel('Password').fill('correct horse');
    await b.page.getByRole('button', { name: 'Create account' }).click();
    await b.page.getByRole('button', { name: 'Log out' }).click();
    await b.page.getByLabel('Email or pseudo').fill(bobName.toUpperCase());
    await b.page.getByLabel('Password').fill('correct horse');
    await b.screenshot('03-login');
    await b.page.getByRole('button', { name: 'Log in' }).click();
    await b.page.getByRole('button', { name: 'Find a match' }).waitFor();
    await b.page.reload();
    await b.page.getByRole('button', { name: 'Find a match' }).waitFor();
  });

  test('find a match: cancel, a waiting screen with the online count, then the matched event', async () => {
    await a.page.getByRole('button', { name: 'Find a match' }).click();
    await a.page.getByRole('heading', { name: 'Looking for a stranger…' }).waitFor();
    await a.screenshot('04-waiting');
    await a.page.getByRole('button', { name: 'Cancel' }).click();
    await a.page.getByRole('button', { name: 'Find a match' }).waitFor();

    // Alice left the pool, so Bob waits instead of being matched with her
    await b.page.getByLabel('Anyone, anywhere').check();
    await b.page.getByRole('button', { name: 'Find a match' }).click();
    await b.page.getByRole('heading', { name: 'Looking for a stranger…' }).waitFor();
    await el(b.page, '.waiting .online').filter({ hasText: '2 people online' }).waitFor();
    await b.screenshot('04-waiting');

    await a.page.getByRole('button', { name: 'Find a match' }).click();
    await a.page.locator('.chat').waitFor();
    await b.page.locator('.chat').waitFor(); // Bob got there by the matched event alone
    roomId = /#\/room\/(.+)$/.exec(a.page.url())![1]!;
    assert.equal(/#\/room\/(.+)$/.exec(b.page.url())![1], roomId);
    // the partner is only an alias; the flag is drawn from the country code
    assert.equal(await el(a.page, '.room-title').textContent(), 'Stranger');
    assert.equal(await el(a.page, '.chat-header .flag').getAttribute('aria-label'), 'Nigeria');
    assert.equal(await el(a.page, '.chat-header .flag').textContent(), '🇳🇬');
    assert.match((await el(a.page, '.countdown').textContent()) ?? '', /^⏳ 2[34]:\d\d:\d\d left$/);
  });

  test('chat: typing, an optimistic send replaced by its ack, read ticks', async () => {
    await b.page.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('Hello from Lagos');
    await el(a.page, '.typing').filter({ hasText: 'Stranger is typing…' }).waitFor();
    await a.screenshot('05-typing');
    await b.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    await seeMessageTimes(a.page, 'Hello from Lagos', 1);
    // Alice's page is in view: she reads it, and Bob's tick turns to read
    await messageItems(b.page, 'Hello from Lagos').and(b.page.locator('[data-delivery=read]')).waitFor();
    assert.equal(await el(a.page, '.typing').textContent(), '');

    await a.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Bonjour Bob!');
    await a.page.getByRole('button', { name: 'Send' }).click();
    await seeMessageTimes(b.page, 'Bonjour Bob!', 1);
    await messageItems(a.page, 'Bonjour Bob!').and(a.page.locator('[data-delivery=read]')).waitFor();
    await b.screenshot('06-chat');
    await a.screenshot('06-chat');
  });

  test('reactions: add, replace, remove, seen by the partner', async () => {
    const bobsMessage = messageItems(a.page, 'Hello from Lagos');
    const chipAtBob = (emoji: string) => messageItems(b.page, 'Hello from Lagos').locator('.chip', { hasText: emoji });
    await bobsMessage.getByRole('button', { name: 'React to this message' }).click();
    await a.page.getByRole('button', { name: 'React with ❤️' }).click();
    await chipAtBob('❤️').waitFor();
    await a.screenshot('07-reaction');
    await b.screenshot('07-reaction');

    await bobsMessage.getByRole('button', { name: 'React to this message' }).click();
    await a.page.getByRole('button', { name: 'React with 👍' }).click();
    await chipAtBob('👍').waitFor();
    await chipAtBob('❤️').waitFor({ state: 'detached' });

    await bobsMessage.getByRole('button', { name: 'React to this message' }).click();
    await a.page.getByRole('button', { name: 'Remove 👍' }).click();
    await chipAtBob('👍').waitFor({ state: 'detached' });
    assert.equal(await messageItems(b.page, 'Hello from Lagos').locator('.chip').count(), 0);
  });

  test('rename is private', async () => {
    await a.page.getByRole('button', { name: 'Rename' }).click();
    await a.page.getByRole('dialog').getByLabel('Name').fill('Bob from Lagos');
    await a.screenshot('08-rename');
    await a.page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await el(a.page, '.room-title').filter({ hasText: 'Bob from Lagos' }).waitFor();
    await b.page.reload();
    await b.page.locator('.chat').waitFor();
    assert.equal(await el(b.page, '.room-title').textContent(), 'Stranger');
  });

  test('network loss: reconnecting…, a retried send stored once, missed messages resumed', async () => {
    // the first send is stored but its ack is lost with the connection: the retry must not duplicate it
    swallowNextAck = true;
    aliceOffline = true;
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Sent while the line dropped');
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    await el(a.page, '.banner.shown').filter({ hasText: 'Reconnecting…' }).waitFor();
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Written while offline');
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    await b.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Did you get this?');
    await b.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    await messageItems(b.page, 'Did you get this?').and(b.page.locator('[data-delivery=sent]')).waitFor();
    assert.equal(await messageItems(a.page, 'Written while offline').getAttribute('data-delivery'), 'pending');
    await a.screenshot('09-reconnecting');

    aliceOffline = false;
    await el(a.page, '.banner.shown').waitFor({ state: 'detached' });
    for (const text of ['Sent while the line dropped', 'Written while offline']) {
      await seeMessageTimes(b.page, text, 1);
      await messageItems(a.page, text).and(a.page.locator('[data-delivery=read]')).waitFor();
      await seeMessageTimes(a.page, text, 1);
    }
    await seeMessageTimes(a.page, 'Did you get this?', 1);
    await a.screenshot('10-resumed');
  });

  test('reload mid-chat: history pages upward, nothing twice, unsent messages kept', async () => {
    // 45 more messages from Bob through the public socket, as any client would send them
    const token = await b.page.evaluate(() => JSON.parse((globalThis as any).localStorage.getItem('chat.session')).token as string);
    const socket = await TestSocket.open(`${server.wsUrl}/ws/${roomId}`, [`bearer.${token}`]);
    await sendPaced(socket, 45, (i) => ({ content: `bulk ${i + 1}`, client_id: `bulk-${i + 1}` }));
    await socket.next((f) => f.type === 'message_ack' && f.client_id === 'bulk-45', 15_000);
    socket.ws.close();

    // a message written offline survives the reload and is sent once the network is back
    aliceOffline = true;
    for (const ws of aliceSockets) await ws.close({ code: 4000, reason: 'offline' });
    await el(a.page, '.banner.shown').waitFor();
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Written before the reload');
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    await a.page.reload();
    await messageItems(a.page, 'Written before the reload').and(a.page.locator('[data-delivery=pending]')).waitFor();
    aliceOffline = false;
    await seeMessageTimes(b.page, 'Written before the reload', 1);
    await messageItems(a.page, 'Written before the reload').and(a.page.locator('[data-delivery=read]')).waitFor();

    await a.page.reload();
    await seeMessageTimes(a.page, 'Written before the reload', 1);
    const earlier = a.page.getByRole('button', { name: 'Load earlier messages' });
    await earlier.waitFor();
    assert.equal(await a.page.locator('.messages li').count(), 40);
    // scrolling up to the top loads the page before (the button does too, for the keyboard)
    await a.page.locator('.scroller').evaluate((scroller: any) => {
      scroller.scrollTop = 0;
    });
    await seeMessageTimes(a.page, 'Hello from Lagos', 1);
    await earlier.waitFor({ state: 'hidden' });
    const texts = await a.page.locator('.messages .text').allTextContents();
    assert.equal(texts.length, 51);
    assert.equal(new Set(texts).size, texts.length, 'no message twice');
    assert.deepEqual(texts.slice(0, 2), ['Hello from Lagos', 'Bonjour Bob!']);
    assert.equal(texts.at(-1), 'Written before the reload');
    await a.screenshot('11-history');
  });

  test('rooms list: unread badges stay right across tabs', async () => {
    await b.page.getByRole('link', { name: 'New match' }).click();
    await b.page.getByRole('button', { name: 'Find a match' }).waitFor();
    b2 = await WatchedPage.open(bob, 'bob-second-tab', server.url);
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Still there?');
    await a.page.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
    for (const page of [b, b2]) {
      await page.page.locator(`[data-room-id="${roomId}"] .badge`).filter({ hasText: '1' }).waitFor();
      await page.page.locator(`[data-room-id="${roomId}"] .preview`).filter({ hasText: 'Still there?' }).waitFor();
    }
    await b.screenshot('12-badge');
    // reading in one tab clears the badge in the other
    await b.page.locator(`[data-room-id="${roomId}"]`).click();
    await seeMessageTimes(b.page, 'Still there?', 1);
    await b2.page.locator(`[data-room-id="${roomId}"] .badge`).waitFor({ state: 'detached' });
    await messageItems(a.page, 'Still there?').and(a.page.locator('[data-delivery=read]')).waitFor();
  });

  test('close with confirmation: both sides told, the room leaves every list', async () => {
    await a.page.getByRole('button', { name: 'Close chat' }).click();
    await a.page.getByRole('dialog').getByRole('heading', { name: 'Close this chat?' }).waitFor();
    await a.screenshot('13-close-confirm');
    await a.page.getByRole('dialog').getByRole('button', { name: 'Close chat' }).click();
    await a.page.getByText('This chat was closed. Its messages are gone.').waitFor();
    await b.page.getByText('This chat was closed. Its messages are gone.').waitFor();
    await b2!.page.getByText('Stranger closed your chat.').waitFor();
    await b2!.page.locator(`[data-room-id="${roomId}"]`).waitFor({ state: 'detached' });
    await b.screenshot('14-closed');
    await a.screenshot('14-closed');
    console.log(`web client screenshots: ${SCREENSHOT_DIR}`);
  });
});

describe('web client: a room that expires', { skip: chromiumPath ? false : 'no Chromium binary' }, () => {
  test('the countdown runs out, the chat says it expired and leaves the list', async () => {
    const server = await startTestServer({ roomTtlMs: 6000 });
    const browser = await launchChromium(chromiumPath!);
    try {
      const { a, roomId } = await matchPair(server.url);
      const context = await browser.newContext({ viewport: DESKTOP });
      context.setDefaultTimeout(15_000);
      const session = JSON.stringify({
        token: a.token,
        user: { id: a.id, pseudo: a.pseudo, email: a.email, country: a.country, created_at: '' },
      });
      await context.addInitScript((value) => (globalThis as any).localStorage.setItem('chat.session', value), session);
      const page = await WatchedPage.open(context, 'expiry-desktop', `${server.url}/#/room/${roomId}`);
      await page.page.locator(`[data-room-id="${roomId}"]`).waitFor();
      assert.match((await page.page.locator('.countdown').textContent()) ?? '', /^⏳ 0:00:0\d left$/);
      await page.page.getByText('This chat has expired. Its messages are gone.').waitFor();
      await page.page.locator(`[data-room-id="${roomId}"]`).waitFor({ state: 'detached' });
      await page.screenshot('15-expired');
      assert.deepEqual(page.errors, [], 'console errors');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
