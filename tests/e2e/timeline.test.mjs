// Rewind, replay and share: the timeline, branches, links, files, and the rule
// that each node's IndexedDB records are what it had made durable at the
// moment on screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot, nodes, waitForLeader, open, nodeAction, send, stepOnce } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

async function pause(page) {
  if (await page.getAttribute('[data-testid="clock"]', 'data-state') !== 'paused') {
    await page.click('[data-testid="play-pause"]');
  }
  await page.waitForSelector('[data-testid="clock"][data-state="paused"]');
}

const now = (page) => page.$eval('[data-testid="timeline"]', (e) => Number(e.value));

async function seek(page, ms) {
  await page.$eval('[data-testid="timeline"]', (e, v) => {
    e.value = String(v);
    e.dispatchEvent(new Event('input', { bubbles: true }));
  }, ms);
  await page.waitForFunction((v) => Number(document.querySelector('[data-testid="timeline"]').value) === v, ms);
}

/** What a user sees of every node: role, term, up, log grid row, chat. */
const seen = (page) => page.evaluate(() => {
  const out = {};
  for (const g of document.querySelectorAll('g[data-testid^="node-"]')) {
    const id = g.dataset.testid.replace('node-', '');
    const pane = document.querySelector(`[data-testid="chat-pane-${id}"]`);
    out[id] = {
      role: g.dataset.role, term: g.dataset.term, down: g.dataset.down,
      log: document.querySelector(`[data-testid="log-row-${id}"]`)?.innerText,
      chat: [...pane.querySelectorAll('[data-testid="chat-message"]')].map((m) => `${m.dataset.index}:${m.textContent}`),
    };
  }
  return out;
});

/** Each node's records in IndexedDB: durable term and number of log entries. */
const database = (page) => page.evaluate(async () => {
  const dbs = await indexedDB.databases();
  const name = dbs.map((d) => d.name).find((n) => n.startsWith('raftchat-cluster-'));
  const db = await new Promise((ok, err) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = err; });
  const all = (store, what) => new Promise((ok, err) => {
    const r = db.transaction(store).objectStore(store)[what]();
    r.onsuccess = () => ok(r.result); r.onerror = err;
  });
  const [hardKeys, hard, logKeys] = await Promise.all([all('hard', 'getAllKeys'), all('hard', 'getAll'), all('log', 'getAllKeys')]);
  db.close();
  const out = {};
  hardKeys.forEach((k, i) => { out[k] = { term: hard[i].term, entries: 0 }; });
  for (const k of logKeys) {
    const node = Math.floor(k / 2 ** 40);
    out[node] ??= { term: 0, entries: 0 };
    out[node].entries += 1;
  }
  return out;
});

/** What the page says each node has on disk at the moment on screen. */
const onDisk = (page) => page.$$eval('[data-testid^="log-row-"]', (rows) => Object.fromEntries(rows.map((r) => [
  r.dataset.testid.replace('log-row-', ''), { term: Number(r.dataset.diskTerm), entries: Number(r.dataset.diskEntries) }])));

/** Waits until IndexedDB holds, for every node, what the page says it made durable. */
async function databaseMatches(page, why) {
  let last;
  for (let i = 0; i < 100; i++) {
    const [db, disk] = [await database(page), await onDisk(page)];
    last = { db, disk };
    const ok = Object.entries(disk).every(([id, d]) => {
      const got = db[id] ?? { term: 0, entries: 0 };
      return got.term === d.term && got.entries === d.entries;
    });
    if (ok) return;
    await page.waitForTimeout(100);
  }
  assert.fail(`${why}: IndexedDB ${JSON.stringify(last.db)} is not what the nodes made durable ${JSON.stringify(last.disk)}`);
}

/** A cluster with a leader, two committed messages, then the leader crashed. */
async function lessonWithCrash(page) {
  const leader = await waitForLeader(page);
  const via = (await nodes(page)).find((n) => n.id !== leader.id).id;
  await send(page, via, 'first');
  await send(page, via, 'second');
  await page.waitForFunction((id) => document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`).length >= 2, leader.id, { timeout: 20_000 });
  await pause(page);
  const beforeCrash = { at: await now(page), seen: await seen(page) };
  await page.click('[data-testid="play-pause"]');
  await nodeAction(page, leader.id, 'crash');
  await waitForLeader(page, { higherThan: leader.term });
  await pause(page);
  return { leader, via, beforeCrash };
}

test('scrubbing back to before a leader crash shows the cluster as it was; step back goes one event back', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  const { leader, beforeCrash } = await lessonWithCrash(page);
  const end = await now(page);
  assert.equal((await nodes(page)).find((n) => n.id === leader.id).down, true);
  assert.ok(await page.$$eval('[data-testid="feed"] li', (lis) => lis.some((li) => /crashed/.test(li.textContent))));
  // Marks for the leaders and the crash are on the timeline.
  assert.ok(await page.$$eval('.mark.leader', (m) => m.length) >= 2);
  assert.ok(await page.$$eval('.mark.crash', (m) => m.length) >= 1);
  await seek(page, beforeCrash.at);
  assert.deepEqual(await seen(page), beforeCrash.seen, 'the same roles, terms, logs and chats as then');
  assert.equal((await nodes(page)).find((n) => n.id === leader.id).down, false);
  const feed = await page.$$eval('[data-testid="feed"] li', (lis) => lis.map((li) => li.textContent));
  assert.ok(!feed.some((t) => /crash/.test(t)), `the feed tells of that moment, not of the crash after it: ${feed.slice(0, 5)}`);
  await databaseMatches(page, 'after a seek back');
  // Step back: to an earlier moment at which something happened.
  await page.click('[data-testid="step-back"]');
  assert.ok(await now(page) < beforeCrash.at);
  await page.keyboard.press('ArrowLeft');
  // Forward again to the end: the crash is still there.
  await seek(page, end);
  assert.equal((await nodes(page)).find((n) => n.id === leader.id).down, true);
  await databaseMatches(page, 'after a seek forward');
  await screenshot(page, 'timeline-rewound');
  assert.deepEqual(page.errors, []);
});

test('a copied link and an exported file open the same run, paused at the same moment', async () => {
  const page = await open(browser, server, { speed: '1' });
  const { beforeCrash } = await lessonWithCrash(page);
  const middle = Math.round((beforeCrash.at + await now(page)) / 2);
  await seek(page, middle);
  const want = await seen(page);
  await page.click('[data-testid="copy-link"]');
  await page.waitForSelector('[data-testid="share-link"]');
  const link = await page.getAttribute('[data-testid="share-link"]', 'href');
  assert.match(link, /#run=v2\.[A-Za-z0-9_-]+$/);
  console.log(`shared link: ${link.length} characters`);
  const viaLink = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  viaLink.errors = [];
  viaLink.on('pageerror', (e) => viaLink.errors.push(String(e)));
  await viaLink.goto(link);
  await viaLink.waitForFunction(() => /Opened a run/.test(document.querySelector('.notice')?.textContent ?? ''), null, { timeout: 20_000 });
  assert.equal(await now(viaLink), middle);
  assert.doesNotMatch(await viaLink.textContent('.notice'), /recorded by/, 'a run of this build needs no note');
  assert.deepEqual(await seen(viaLink), want, 'every node\'s role, term, log and chat');
  assert.equal(new URL(viaLink.url()).hash, '', 'the address no longer carries the run');
  await databaseMatches(viaLink, 'a run opened from a link');
  // Export, then import into another fresh page.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-run"]')]);
  const file = await download.path();
  const viaFile = await open(browser, server);
  await viaFile.setInputFiles('[data-testid="import-run"]', file);
  await viaFile.waitForFunction(() => /Opened a run/.test(document.querySelector('.notice')?.textContent ?? ''));
  assert.equal(await now(viaFile), middle);
  assert.deepEqual(await seen(viaFile), want);
  // A link in the first format (`v1`: the file's plain JSON, deflated) still opens. Made by a
  // build that kept no replay version, it says that the run may not play out as recorded.
  const { readFile } = await import('node:fs/promises');
  const { deflateRawSync } = await import('node:zlib');
  const oldJson = (await readFile(file, 'utf8')).replace(/"replay_version":\d+,/, '');
  assert.doesNotMatch(oldJson, /replay_version/);
  const v1 = `${server.url}#run=v1.${deflateRawSync(oldJson).toString('base64url')}`;
  const viaOldLink = await open(browser, server);
  await viaOldLink.goto(v1);
  await viaOldLink.waitForFunction(() => /Opened a run/.test(document.querySelector('.notice')?.textContent ?? ''), null, { timeout: 20_000 });
  assert.match(await viaOldLink.textContent('.notice'), /recorded by an earlier raftchat .*may not play out exactly as it was recorded/);
  assert.deepEqual(await seen(viaOldLink), want, 'a v1 link');
  await screenshot(viaLink, 'timeline-opened-link');
  assert.deepEqual(viaLink.errors, []);
  assert.deepEqual(viaFile.errors, []);
  assert.deepEqual(viaOldLink.errors, []);
});

test('acting at a past moment starts a branch; the old branch can be returned to', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  const { leader, via, beforeCrash } = await lessonWithCrash(page);
  const end = await now(page);
  await seek(page, beforeCrash.at);
  await send(page, via, 'on the new branch');
  await page.waitForSelector('[data-testid="branch-2"][aria-pressed="true"]');
  assert.equal(await page.getAttribute('[data-testid="branch-1"]', 'aria-pressed'), 'false');
  await page.click('[data-testid="play-pause"]');
  await page.waitForFunction((id) => [...document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`)]
    .some((m) => m.textContent.includes('on the new branch')), leader.id, { timeout: 20_000 });
  await pause(page);
  // On this branch the leader was never crashed.
  assert.equal((await nodes(page)).find((n) => n.id === leader.id).down, false);
  await page.click('[data-testid="branch-1"]');
  await page.waitForSelector('[data-testid="branch-1"][aria-pressed="true"]');
  assert.equal(await now(page), beforeCrash.at, 'back where the branch was left');
  await seek(page, end);
  assert.equal((await nodes(page)).find((n) => n.id === leader.id).down, true, 'the old future is kept');
  const chats = await page.$$eval('[data-testid="chat-message"]', (ms) => ms.map((m) => m.textContent));
  assert.ok(!chats.some((t) => t.includes('on the new branch')));
  await databaseMatches(page, 'after switching branches');
  // A reload after the rewind: the timeline and the rule survive it.
  await seek(page, beforeCrash.at);
  await databaseMatches(page, 'before the reload');
  await page.reload();
  await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
  await page.waitForFunction(() => /Restored the saved run/.test(document.querySelector('.notice')?.textContent ?? ''));
  await pause(page);
  // The restored run played a moment before the pause: a write may still be
  // in flight (IndexedDB can hold it already while the run's disk shows it at
  // its own virtual moment). Step, one step at a time, until none is.
  const inFlight = () => page.$('g.disk[data-testid^="disk-"]');
  for (let i = 0; i < 100 && await inFlight(); i++) await stepOnce(page);
  assert.equal(await inFlight(), null, 'writes still in flight after 100 steps');
  await databaseMatches(page, 'after the reload');
  assert.ok(await page.$$eval('[data-testid^="branch-"]', (b) => b.length) >= 1);
  await screenshot(page, 'timeline-branches');
  assert.deepEqual(page.errors, []);
});

test('a damaged link, an unknown version and a bad file get a message and the cluster runs on', async () => {
  const page = await open(browser, server, { speed: '1' });
  await waitForLeader(page);
  const seed = await page.inputValue('[data-testid="seed"]');
  const cases = [
    ['#run=v2.AAAA', /damaged or cut short/],
    ['#run=v2.%%%not-base64', /damaged/],
    ['#run=v9.abc', /"v9"/],
  ];
  for (const [hash, message] of cases) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[data-testid="import-error"]')?.textContent ?? ''),
      message.source, { timeout: 10_000 });
  }
  await page.setInputFiles('[data-testid="import-run"]', { name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"steps": []}') });
  await page.waitForFunction(() => /not a raftchat run/.test(document.querySelector('[data-testid="import-error"]')?.textContent ?? ''));
  const edited = { version: 1, config: { nodes: 5, seed: 1 }, steps: [{ at_ms: 10, do: { crash: 12 } }] };
  await page.setInputFiles('[data-testid="import-run"]', { name: 'edited.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(edited)) });
  await page.waitForFunction(() => /damaged|never existed/.test(document.querySelector('[data-testid="import-error"]')?.textContent ?? ''));
  // The cluster on screen is untouched and still running.
  assert.equal(await page.inputValue('[data-testid="seed"]'), seed);
  const t = await now(page);
  await page.waitForFunction((t0) => Number(document.querySelector('[data-testid="timeline"]').value) > t0 + 200, t);
  await waitForLeader(page);
  await screenshot(page, 'timeline-bad-link');
  assert.deepEqual(page.errors, []);
});

test('a run opens a slice at a time with its progress shown, from a file and from a link; Cancel keeps the cluster', async () => {
  // Half an hour of an idle cluster (about 600,000 events, several slices),
  // and six hours (about 7 million: seconds of replay).
  const { readFile } = await import('node:fs/promises');
  const { deflateRawSync } = await import('node:zlib');
  const idle = (ms) => {
    const r = JSON.parse(recipeText);
    Object.assign(r, { steps: [], end_ms: ms, at_ms: ms });
    r.config.bugs = [];
    return r;
  };
  const recipeText = await readFile(new URL('../scenarios/figure-8.json', import.meta.url), 'utf8');
  // Every text the opening bar shows, in order, as the DOM changes.
  const watch = () => {
    window.progress = [];
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="opening"]')?.textContent ?? '';
      if (text && text !== window.progress.at(-1)) window.progress.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  };
  const opened = async (page) => {
    await page.waitForFunction(() => /Opened a run/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await page.$('[data-testid="opening"]'), null, 'the opening bar is gone once opened');
    const progress = await page.evaluate(() => window.progress);
    // Drawn at the start, and again as the replay went on, up to its end.
    assert.ok(progress.some((t) => t.startsWith('Opening the run: 0.0 s of 30.0 min replayed')), JSON.stringify(progress));
    const between = progress.filter((t) => !/ 0\.0 s of /.test(t));
    assert.ok(between.length >= 2, `progress drawn between slices: ${JSON.stringify(progress)}`);
  };
  const viaFile = await open(browser, server);
  await viaFile.evaluate(watch);
  await viaFile.setInputFiles('[data-testid="import-run"]', { name: 'half-hour.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(idle(30 * 60_000))) });
  await opened(viaFile);
  // A link opened as the page starts (the cluster's storage opening meanwhile).
  const viaLink = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  viaLink.errors = [];
  viaLink.on('pageerror', (e) => viaLink.errors.push(String(e)));
  await viaLink.addInitScript(`document.addEventListener('DOMContentLoaded', ${watch.toString()})`);
  await viaLink.goto(`${server.url}#run=v1.${deflateRawSync(JSON.stringify(idle(30 * 60_000))).toString('base64url')}`);
  await opened(viaLink);
  // Six hours: the cluster on screen runs on while it opens, and Cancel
  // keeps it.
  const page = await open(browser, server);
  const seed = await page.inputValue('[data-testid="seed"]');
  await page.setInputFiles('[data-testid="import-run"]', { name: 'six-hours.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(idle(6 * 3_600_000))) });
  await page.waitForFunction(() => /Opening the run: [1-9][0-9.]* (s|min|h) of 6\.0 h replayed/.test(document.querySelector('[data-testid="opening"]')?.textContent ?? ''));
  const t = await now(page);
  await page.waitForFunction((t0) => Number(document.querySelector('[data-testid="timeline"]').value) > t0, t);
  await screenshot(page, 'timeline-opening');
  await page.click('[data-testid="cancel-open"]');
  await page.waitForSelector('[data-testid="opening"]', { state: 'detached' });
  assert.equal(await page.textContent('[data-testid="notice"]'), 'Stopped opening the run: the cluster on screen is as it was. ×');
  assert.equal(await page.inputValue('[data-testid="seed"]'), seed);
  const t1 = await now(page);
  await page.waitForFunction((t0) => Number(document.querySelector('[data-testid="timeline"]').value) > t0 + 200, t1);
  assert.equal(await page.$('[data-testid="opening"]'), null, 'a cancelled opening stays cancelled');
  assert.doesNotMatch(await page.textContent('body'), /Opened a run/);
  for (const p of [viaFile, viaLink, page]) assert.deepEqual(p.errors, []);
});
