// Membership changes and snapshots, from the page (thesis chapters 4 and 5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot, nodes, waitForLeader, open, chatTexts, nodeAction } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Sends `texts` through the leader, one after the other, each committed. */
async function chat(page, leader, texts) {
  for (const t of texts) {
    const had = (await chatTexts(page, leader)).length;
    await page.fill(`[data-testid="chat-input-${leader}"]`, t);
    await page.press(`[data-testid="chat-input-${leader}"]`, 'Enter');
    await page.waitForFunction(([id, n]) => document.querySelectorAll(
      `[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`).length >= n, [leader, had + 1], { timeout: 20_000 });
  }
}

const texts = (n) => Array.from({ length: n }, (_, i) => `student: hello ${i + 1}`);

/** Waits until node `id`'s pane shows exactly `want`. */
async function paneShows(page, id, want, timeout = 30_000) {
  await page.waitForFunction(([id, want]) => {
    const got = [...document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`)]
      .map((m) => m.textContent);
    return got.length === want.length && got.every((t, i) => t === want[i]);
  }, [id, want], { timeout, polling: 100 });
}

test('an added node joins as a learner, becomes a voter and gets the whole chat', async () => {
  const page = await open(browser, server, { speed: '1' });
  const leader = await waitForLeader(page);
  await chat(page, leader.id, texts(6).map((t) => t.replace('student: ', '')));
  // Compact the leader first: the new node can only get the chat as a snapshot.
  await nodeAction(page, leader.id, 'compact');
  await page.waitForSelector(`[data-testid="snap-${leader.id}"]`);
  await page.click('[data-testid="add-node"]');
  await page.waitForSelector('[data-testid="notice"]:text-matches("node 6 joins")');
  await page.waitForSelector('g[data-testid="node-6"]');
  assert.equal((await nodes(page)).length, 6, 'the ring has six nodes');
  await page.waitForSelector('g[data-testid="node-6"][data-member="voter"]', { timeout: 20_000 });
  await paneShows(page, 6, texts(6));
  await page.check('[data-testid="feed-kind-membership"]');
  await page.check('[data-testid="feed-kind-snapshots"]');
  const feed = await page.textContent('[data-testid="feed"]');
  assert.match(feed, /node 6 caught up in \d+ round/);
  assert.match(feed, /node 6 installs the leader's snapshot/);
  await screenshot(page, 'node-added');
  assert.deepEqual(page.errors, []);
});

test('removing the leader: a new leader is elected and the ring closes up', async () => {
  const page = await open(browser, server, { speed: '1' });
  const old = await waitForLeader(page);
  await chat(page, old.id, ['before the removal']);
  await nodeAction(page, old.id, 'remove');
  const fresh = await waitForLeader(page, { higherThan: old.term, timeout: 20_000 });
  assert.notEqual(fresh.id, old.id);
  await page.waitForSelector(`g[data-testid="node-${old.id}"]`, { state: 'detached', timeout: 20_000 });
  assert.equal((await nodes(page)).length, 4, 'four nodes left on the ring');
  await chat(page, fresh.id, ['after the removal']);
  assert.deepEqual(await chatTexts(page, fresh.id), ['student: before the removal', 'student: after the removal']);
  await screenshot(page, 'leader-removed');
  assert.deepEqual(page.errors, []);
});

test('compact now drops the log on disk; a reload brings every chat back', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  const leader = await waitForLeader(page);
  const want = texts(8);
  await chat(page, leader.id, want.map((t) => t.replace('student: ', '')));
  for (const n of await nodes(page)) await paneShows(page, n.id, want);
  const onDisk = async (id) => {
    if (!(await page.$eval(`g[data-testid="node-${id}"]`, (e) => e.classList.contains('selected')))) {
      await page.click(`g[data-testid="node-${id}"]`);
    }
    const text = await page.textContent('[data-testid="inspect-snapshot"]');
    return Number(text.match(/log entries on disk: (\d+)/)[1]);
  };
  const before = await onDisk(leader.id);
  assert.ok(before >= 9, `the no-op and eight messages are on disk (${before})`);
  await nodeAction(page, leader.id, 'compact');
  await page.waitForFunction((id) => /up to index \d+/.test(
    document.querySelector('[data-testid="inspect-snapshot"]').textContent), leader.id);
  await page.waitForFunction(() => /log entries on disk: [0-2]\b/.test(
    document.querySelector('[data-testid="inspect-snapshot"]').textContent), null, { timeout: 10_000 });
  const after = await onDisk(leader.id);
  assert.ok(after < before, `the database holds fewer log entries (${before} → ${after})`);
  await screenshot(page, 'compacted');
  await page.reload();
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  assert.match(await page.textContent('.notice'), /1 snapshot\(s\) on disk/);
  // The compacted node's chat comes straight from its snapshot.
  await paneShows(page, leader.id, want, 10_000);
  for (const n of await nodes(page)) await paneShows(page, n.id, want);
  assert.deepEqual(page.errors, []);
});
