// The classroom page, driven as a teacher would: elections, crashes,
// messages through followers, pause, partitions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot, nodes, waitForLeader, open, chatTexts, nodeAction } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('the page loads and a leader appears within a few seconds', async () => {
  const page = await open(browser, server, { speed: null }); // the default speed
  const leader = await waitForLeader(page, { timeout: 15_000 });
  assert.ok(leader.term >= 1);
  assert.equal((await nodes(page)).length, 5);
  assert.match(await page.textContent('[data-testid="leader"]'), new RegExp(`node ${leader.id} in term ${leader.term}`));
  await screenshot(page, 'leader-elected');
  assert.deepEqual(page.errors, []);
});

test('crashing the leader by clicking produces a new leader in a higher term', async () => {
  const page = await open(browser, server);
  const old = await waitForLeader(page);
  await nodeAction(page, old.id, 'crash');
  const fresh = await waitForLeader(page, { higherThan: old.term });
  assert.notEqual(fresh.id, old.id);
  const crashed = (await nodes(page)).find((n) => n.id === old.id);
  assert.equal(crashed.down, true);
  assert.match(await page.textContent(`[data-testid="chat-pane-${old.id}"]`), /down/);
  await screenshot(page, 'leader-crashed');
  assert.deepEqual(page.errors, []);
});

test('a message sent through a follower appears in every live replica', async () => {
  const page = await open(browser, server);
  const leader = await waitForLeader(page);
  const follower = (await nodes(page)).find((n) => n.id !== leader.id);
  const other = (await nodes(page)).find((n) => n.id !== leader.id && n.id !== follower.id);
  await nodeAction(page, other.id, 'crash'); // one replica is down
  await page.fill('[data-testid="author"]', 'Ada');
  await page.fill(`[data-testid="chat-input-${follower.id}"]`, 'hello from a follower');
  await page.press(`[data-testid="chat-input-${follower.id}"]`, 'Enter');
  for (const n of await nodes(page)) {
    if (n.down) continue;
    await page.waitForFunction(([id]) => [...document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`)]
      .some((e) => e.textContent === 'Ada: hello from a follower'), [n.id], { timeout: 20_000 });
  }
  assert.deepEqual(await chatTexts(page, other.id), []);
  await page.waitForSelector(`[data-testid="chat-status-${follower.id}"]:text-matches("committed at index \\\\d+")`);
  await screenshot(page, 'message-replicated');
  // The crashed replica refills after a restart.
  await nodeAction(page, other.id, 'restart');
  await page.waitForFunction(([id]) => [...document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`)]
    .some((e) => e.textContent === 'Ada: hello from a follower'), [other.id], { timeout: 20_000 });
});

test('pause stops the clock: the term and the event count stay put', async () => {
  const page = await open(browser, server);
  await waitForLeader(page);
  await page.click('[data-testid="play-pause"]');
  const read = () => page.evaluate(() => ({
    clock: document.querySelector('[data-testid="clock"]').textContent,
    events: document.querySelector('[data-testid="event-count"]').textContent,
    terms: [...document.querySelectorAll('g[data-testid^="node-"]')].map((e) => e.dataset.term).join(','),
    frames: document.body.dataset.frames,
  }));
  const before = await read();
  await page.waitForTimeout(1_500);
  const after = await read();
  assert.deepEqual(after, before, 'nothing moves, and no animation frame runs');
  assert.match(before.clock, /paused/);
  // Step advances to the next event (which may wait for IndexedDB to confirm
  // a write: the count changes once it has).
  await page.click('[data-testid="step"]');
  await page.waitForFunction((prev) => document.querySelector('[data-testid="event-count"]').textContent !== prev,
    before.events, { timeout: 5_000 });
  const stepped = await read();
  assert.notEqual(stepped.events, before.events);
  assert.match(stepped.clock, /paused/);
  await screenshot(page, 'paused');
});

test('a hidden tab pauses and resumes when shown again', async () => {
  const page = await open(browser, server);
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { value: h, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  await page.waitForSelector('[data-testid="clock"][data-state="paused (tab hidden)"]');
  const frames = await page.evaluate(() => document.body.dataset.frames);
  await page.waitForTimeout(800);
  assert.equal(await page.evaluate(() => document.body.dataset.frames), frames, 'no frames while hidden');
  await setHidden(false);
  await page.waitForSelector('[data-testid="clock"][data-state="running"]');
  await screenshot(page, 'shown-again');
});

test('an isolated node calls elections in ever higher terms while the majority commits', async () => {
  const page = await open(browser, server, { speed: '0.5' });
  const leader = await waitForLeader(page);
  const lonely = (await nodes(page)).find((n) => n.id !== leader.id);
  await nodeAction(page, lonely.id, 'isolate');
  const term = async (id) => (await nodes(page)).find((n) => n.id === id).term;
  const t0 = await term(lonely.id);
  await page.waitForFunction(([id, t]) => Number(document.querySelector(`g[data-testid="node-${id}"]`).dataset.term) >= t + 3,
    [lonely.id, t0], { timeout: 30_000 });
  // The majority keeps its leader and keeps committing.
  const sender = (await nodes(page)).find((n) => n.id !== lonely.id && !n.down);
  await page.fill(`[data-testid="chat-input-${sender.id}"]`, 'the majority goes on');
  await page.press(`[data-testid="chat-input-${sender.id}"]`, 'Enter');
  await page.waitForFunction(([id]) => [...document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`)]
    .some((e) => e.textContent.endsWith('the majority goes on')), [leader.id], { timeout: 20_000 });
  assert.equal((await nodes(page)).find((n) => n.id === leader.id).role, 'leader');
  assert.ok(!(await chatTexts(page, lonely.id)).some((t) => t.endsWith('the majority goes on')));
  assert.ok(await term(lonely.id) > await term(leader.id), 'the isolated node has the higher term');
  await screenshot(page, 'isolated-node');
  assert.deepEqual(page.errors, []);
});

test('cutting a link and dropping a message are one click each', async () => {
  const page = await open(browser, server);
  await waitForLeader(page);
  // Click the link itself (a message passing its middle would take a positional
  // click, and be dropped instead).
  await page.$eval('g[data-testid="link-1-2"] line.hit', (l) => l.dispatchEvent(new MouseEvent('click', { bubbles: true })));
  await page.click('[data-testid="link-cut-ab"]');
  assert.equal(await page.getAttribute('g[data-testid="link-1-2"]', 'data-state'), 'one-way');
  await page.click('[data-testid="link-cut-both"]');
  assert.equal(await page.getAttribute('g[data-testid="link-1-2"]', 'data-state'), 'cut');
  await page.click('[data-testid="heal-all"]');
  assert.equal(await page.getAttribute('g[data-testid="link-1-2"]', 'data-state'), 'up');
  // Drop a message in flight: pause so that it stays put, step until one is on
  // the wire, and click it (its own element: near its end a message sits under
  // the receiving node).
  await page.click('[data-testid="play-pause"]');
  const inFlight = () => page.$$eval('g[data-testid="message"]', (m) => m.length);
  for (let i = 0; i < 100 && (await inFlight()) === 0; i++) await page.click('[data-testid="step"]');
  const before = await inFlight();
  assert.ok(before > 0, 'a message is in flight');
  await page.$eval('g[data-testid="message"] circle', (c) => c.dispatchEvent(new MouseEvent('click', { bubbles: true })));
  await page.waitForFunction((n) => document.querySelectorAll('g[data-testid="message"]').length === n - 1, before);
  await page.check('[data-testid="feed-kind-drops"]');
  assert.match(await page.textContent('[data-testid="feed"]'), /dropped by hand/);
  await screenshot(page, 'message-dropped');
});
