// Durable nodes: IndexedDB, restart from disk, reload, two tabs, bad storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot, nodes, waitForLeader, open, chatTexts, nodeAction, send } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Waits until every live replica shows `texts` (and only them), in order. */
async function converged(page, texts, timeout = 30_000) {
  await page.waitForFunction((want) => {
    const panes = [...document.querySelectorAll('[data-testid^="chat-pane-"]')]
      .filter((p) => !p.classList.contains('down'));
    return panes.every((p) => {
      const got = [...p.querySelectorAll('[data-testid="chat-message"]')].map((m) => m.textContent);
      return got.length === want.length && got.every((t, i) => t === want[i]);
    });
  }, texts, { timeout, polling: 100 });
}

/** Indexes of requests acknowledged as committed, from the event feed. */
const acknowledged = (page) => page.$$eval('[data-testid="feed"] li', (lis) => lis
  .map((li) => li.textContent.match(/committed at index (\d+)/))
  .filter(Boolean).map((m) => Number(m[1])));

test('a reload brings every replica\'s chat back, with terms no lower', async () => {
  const page = await open(browser, server);
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  const leader = await waitForLeader(page);
  await page.fill('[data-testid="author"]', 'Ada');
  const texts = [];
  for (let i = 1; i <= 4; i++) {
    const via = (await nodes(page))[i % 5].id;
    texts.push(`Ada: saved ${i}`);
    await send(page, via, `saved ${i}`);
    await page.waitForFunction(([id, n]) => document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`).length >= n, [leader.id, i], { timeout: 20_000 });
  }
  await converged(page, texts);
  const before = await nodes(page);
  await page.reload();
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  assert.match(await page.textContent('.notice'), /Restored the saved run at [\d.]+ s: 5 nodes restarted from what they had made durable/);
  await converged(page, texts);
  const after = await nodes(page);
  for (const n of before) {
    assert.ok(after.find((a) => a.id === n.id).term >= n.term, `node ${n.id}'s term did not go down`);
  }
  assert.equal(await page.inputValue('[data-testid="author"]'), 'Ada', 'settings come back too');
  await screenshot(page, 'reloaded');
  assert.deepEqual(page.errors, []);
});

test('a crashed follower restarts from its disk and catches up', async () => {
  const page = await open(browser, server);
  const leader = await waitForLeader(page);
  const follower = (await nodes(page)).find((n) => n.id !== leader.id);
  await send(page, leader.id, 'before the crash');
  await converged(page, ['student: before the crash']);
  await nodeAction(page, follower.id, 'crash');
  await send(page, leader.id, 'while it was down');
  await converged(page, ['student: before the crash', 'student: while it was down']);
  assert.deepEqual(await chatTexts(page, follower.id), []);
  await nodeAction(page, follower.id, 'restart');
  await page.waitForSelector(`g[data-testid="node-${follower.id}"][data-down="false"]`);
  // It kept its log on disk: the inspector shows the entries it had.
  assert.ok(Number(await page.$eval('[data-testid="inspector"]', (t) => t.rows[3].cells[1].textContent)) >= 2);
  await converged(page, ['student: before the crash', 'student: while it was down']);
  // The page shows how much the site stores (Storage API estimate).
  await page.waitForSelector('[data-testid="storage-usage"]', { timeout: 10_000 });
  assert.match(await page.textContent('[data-testid="storage-usage"]'), /≈ \d+ KB/);
  await screenshot(page, 'follower-caught-up');
});

test('a new cluster deletes the saved one, after asking', async () => {
  const page = await open(browser, server);
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  const clusters = () => page.evaluate(async () => (await indexedDB.databases())
    .map((d) => d.name).filter((n) => n.startsWith('raftchat-cluster-')));
  const before = await clusters();
  assert.equal(before.length, 1);
  await page.fill('[data-testid="seed"]', '77');
  await page.click('[data-testid="reset"]'); // the harness accepts the confirmation
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  await page.waitForFunction(async (old) => {
    const names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith('raftchat-cluster-'));
    return names.length === 1 && names[0] !== old;
  }, before[0], { timeout: 10_000 });
  // Declining the question keeps the cluster.
  page.removeAllListeners('dialog');
  page.on('dialog', (d) => d.dismiss());
  const kept = await clusters();
  await page.click('[data-testid="reset"]');
  await page.waitForTimeout(500);
  assert.deepEqual(await clusters(), kept);
  assert.equal(await page.getAttribute('[data-testid="storage"]', 'data-state'), 'saved');
});

test('crashing the leader in a stream of messages loses and duplicates nothing acknowledged', async () => {
  const page = await open(browser, server, { speed: '0.5' });
  const leader = await waitForLeader(page);
  const via = (await nodes(page)).find((n) => n.id !== leader.id).id;
  await page.check('[data-testid="feed-kind-chat"]');
  for (let i = 1; i <= 12; i++) {
    await send(page, via, `stream ${i}`);
    if (i === 6) await nodeAction(page, leader.id, 'crash');
    await page.waitForTimeout(120);
  }
  await waitForLeader(page, { higherThan: leader.term });
  await nodeAction(page, leader.id, 'restart');
  await page.waitForSelector(`g[data-testid="node-${leader.id}"][data-down="false"]`);
  // Every replica ends with the same chat, once the messages still being
  // retried through the new leader are acknowledged (at least the six sent
  // before the crash); each acknowledged entry is in it once.
  await page.waitForFunction(() => {
    const acked = [...document.querySelectorAll('[data-testid="feed"] li')]
      .filter((li) => /committed at index \d+/.test(li.textContent)).length;
    const chats = [...document.querySelectorAll('[data-testid^="chat-pane-"]')].map((p) =>
      [...p.querySelectorAll('[data-testid="chat-message"]')].map((m) => m.textContent).join('\n'));
    return acked >= 6 && chats.every((c) => c === chats[0]) && chats[0].length > 0;
  }, null, { timeout: 30_000, polling: 200 });
  const acks = await acknowledged(page);
  assert.ok(acks.length >= 6, `${acks.length} acknowledged`);
  for (const n of await nodes(page)) {
    const chat = await page.$$eval(`[data-testid="chat-pane-${n.id}"] [data-testid="chat-message"]`,
      (ms) => ms.map((m) => ({ index: Number(m.dataset.index), text: m.textContent })));
    const texts = chat.map((m) => m.text);
    assert.equal(new Set(texts).size, texts.length, `no duplicates on node ${n.id}`);
    for (const index of acks) {
      assert.ok(chat.some((m) => m.index === index), `node ${n.id} has acknowledged index ${index}`);
    }
  }
  await screenshot(page, 'leader-crash-stream');
});

test('a second tab on the same cluster does not write, and can open its own', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const first = await context.newPage();
  await first.goto(server.url);
  await first.waitForSelector('[data-testid="storage"][data-state="saved"]');
  const second = await context.newPage();
  second.on('dialog', (d) => d.accept());
  await second.goto(server.url);
  await second.waitForSelector('[data-testid="storage"][data-state="elsewhere"]');
  assert.match(await second.textContent('[data-testid="storage"]'), /open in another tab/);
  assert.equal(await first.getAttribute('[data-testid="storage"]', 'data-state'), 'saved');
  await screenshot(second, 'second-tab');
  // The second tab's cluster runs in memory meanwhile; it can open its own.
  await second.click('[data-testid="open-own-cluster"]');
  await second.waitForSelector('[data-testid="storage"][data-state="saved"]');
  // The first tab still owns its cluster: a reload restores it there.
  await first.reload();
  await first.waitForSelector('[data-testid="storage"][data-state="saved"]');
  await context.close();
});

test('without IndexedDB the cluster runs in memory and says so', async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => { Object.defineProperty(window, 'indexedDB', { value: undefined }); });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="storage"][data-state="memory"]');
  assert.match(await page.textContent('[data-testid="storage"]'), /IndexedDB is not available.*runs in memory/);
  await waitForLeader(page);
  await screenshot(page, 'no-indexeddb');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a damaged or newer saved cluster is reported and left alone', async () => {
  for (const [what, prepare, expect] of [
    ['damaged', async (page) => page.evaluate(() => new Promise((ok, fail) => {
      const req = indexedDB.open('raftchat-cluster-4242', 1);
      req.onupgradeneeded = () => { for (const s of ['meta', 'hard', 'log']) req.result.createObjectStore(s); };
      req.onsuccess = () => {
        const tx = req.result.transaction(['meta'], 'readwrite');
        tx.objectStore('meta').put({ schema: 1, settings: 'garbage' }, 'cluster');
        tx.oncomplete = () => { req.result.close(); ok(); };
        tx.onerror = fail;
      };
    })), /damaged/],
    ['newer', async (page) => page.evaluate(() => new Promise((ok) => {
      const req = indexedDB.open('raftchat-cluster-4242', 7);
      req.onsuccess = () => { req.result.close(); ok(); };
    })), /another version of raftchat/],
  ]) {
    const context = await browser.newContext();
    await context.addInitScript(() => { sessionStorage.setItem('raftchat.cluster', '4242'); });
    const page = await context.newPage();
    await page.goto(server.url + 'missing-page-to-prepare');
    await prepare(page);
    await page.goto(server.url);
    await page.waitForSelector('[data-testid="storage"][data-state="memory"]');
    assert.match(await page.textContent('[data-testid="storage"]'), expect, what);
    await waitForLeader(page);
    // The stored data was left as it was.
    const version = await page.evaluate(() => new Promise((ok) => {
      const req = indexedDB.open('raftchat-cluster-4242');
      req.onsuccess = () => { const v = req.result.version; req.result.close(); ok(v); };
    }));
    // A damaged version-1 database is upgraded in place (an empty snapshot
    // store is added) but its records are left as they were.
    assert.equal(version, what === 'newer' ? 7 : 2);
    if (what === 'damaged') {
      const kept = await page.evaluate(() => new Promise((ok) => {
        const req = indexedDB.open('raftchat-cluster-4242');
        req.onsuccess = () => {
          const get = req.result.transaction(['meta']).objectStore('meta').get('cluster');
          get.onsuccess = () => { req.result.close(); ok(get.result.settings); };
        };
      }));
      assert.equal(kept, 'garbage');
    }
    await screenshot(page, `storage-${what}`);
    await context.close();
  }
});
