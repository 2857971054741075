// Break Raft on purpose and watch it break: the safety panel (the invariant
// checker, live), the bug switches, and the Figure 8 scenario shipped with the
// tests (tests/scenarios/figure-8.json, built and checked by core/tests/bugs.rs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { serveDist, launch, screenshot, waitForLeader, open, nodeAction } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const figure8 = async () => JSON.parse(await readFile(new URL('../scenarios/figure-8.json', import.meta.url), 'utf8'));
const state = (page, id) => page.getAttribute(`[data-testid="${id}"]`, 'data-state');
const importRun = async (page, recipe, name) => {
  await page.setInputFiles('[data-testid="import-run"]', { name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(recipe)) });
  await page.waitForFunction(() => /Opened a run/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? '')
    || document.querySelector('[data-testid="import-error"]'), null, { timeout: 20_000 });
  assert.equal(await page.$('[data-testid="import-error"]'), null, await page.textContent('[data-testid="import-error"]').catch(() => ''));
};
const rows = (page) => page.$$eval('[data-testid^="safety-"][data-state]', (els) => Object.fromEntries(
  els.filter((e) => e.tagName === 'LI').map((e) => [e.dataset.testid.slice('safety-'.length), e.dataset.state])));

test('Figure 8 with its rule broken: State Machine Safety turns red; with the rule kept, every property stays green', async () => {
  const page = await open(browser, server);
  await waitForLeader(page);
  const recipe = await figure8();
  assert.deepEqual(recipe.config.bugs, ['commit-old-term']);
  await importRun(page, recipe, 'figure-8.json');
  assert.equal(await state(page, 'safety'), 'violated');
  const r = await rows(page);
  assert.equal(r['state-machine-safety'], 'violated', JSON.stringify(r));
  assert.equal(r['leader-completeness'], 'violated', JSON.stringify(r));
  assert.equal(r['election-safety'], 'ok');
  assert.match(await page.textContent('[data-testid="safety-state-machine-safety"]'), /entry 2 was committed with term 1/);
  assert.equal(await page.getAttribute('[data-testid="clock"]', 'data-state'), 'paused');
  assert.match(await page.textContent('[data-testid="bug-warning"]'), /commit-old-term/);
  // The panes of the two nodes that disagree, and the log cells at the index.
  assert.equal(await page.$$eval('[data-testid^="chat-pane-"][data-violated="true"]', (p) => p.length), 2);
  assert.ok(await page.$$eval('td.cell.violated', (c) => c.length) >= 2);
  await screenshot(page, 'safety-figure-8-broken');
  // "Where it began": the moment the old entry was counted as committed.
  const jump = '[data-testid="safety-jump-leader-completeness"]';
  const label = await page.textContent(jump);
  await page.click(jump);
  const at = Number(await page.$eval('[data-testid="timeline"]', (e) => e.value));
  assert.equal(`Jump to ${(at / 1000).toFixed(3)} s (where it began)`, label);
  assert.equal(await state(page, 'safety'), 'ok', 'nothing was broken yet at that moment');
  // The same run with the rule kept: every property holds.
  delete recipe.config.bugs;
  await importRun(page, recipe, 'figure-8-kept.json');
  assert.equal(await state(page, 'safety'), 'ok');
  assert.ok(Object.values(await rows(page)).every((s) => s === 'ok'), JSON.stringify(await rows(page)));
  assert.equal(await page.$('[data-testid="bug-warning"]'), null);
  await screenshot(page, 'safety-figure-8-kept');
  assert.deepEqual(page.errors, []);
});

test('the Break Raft menu: one switch at a time, a warning while one is on, recorded in the run', async () => {
  const page = await open(browser, server, { speed: '1' });
  await waitForLeader(page);
  assert.equal(await page.$('[data-testid="bug-warning"]'), null);
  await page.click('[data-testid="bugs"] summary');
  const names = await page.$$eval('[data-testid^="bug-"][type="checkbox"]', (els) => els.map((e) => e.dataset.testid.slice(4)));
  assert.equal(names.length, 10);
  assert.ok(names.includes('commit-old-term') && names.includes('stale-reads'));
  await page.check('[data-testid="bug-stale-reads"]');
  await page.waitForSelector('[data-testid="bug-warning"]');
  assert.match(await page.textContent('[data-testid="bug-warning"]'), /stale-reads/);
  await page.click('[data-testid="bug-vote-for-stale-log"]');
  await page.waitForFunction(() => /vote-for-stale-log/.test(document.querySelector('[data-testid="bug-warning"]')?.textContent ?? ''));
  assert.equal(await page.isChecked('[data-testid="bug-stale-reads"]'), false, 'one switch at a time');
  await page.click('[data-testid="bug-vote-for-stale-log"]');
  await page.waitForSelector('[data-testid="bug-warning"]', { state: 'detached' });
  // The switches are steps of the run: an exported run carries them.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-run"]')]);
  const run = JSON.parse(await readFile(await download.path(), 'utf8'));
  const bugSteps = run.steps.filter((s) => s.do.bugs !== undefined).map((s) => s.do.bugs);
  assert.deepEqual(bugSteps, [['stale-reads'], ['vote-for-stale-log'], []]);
  assert.deepEqual(page.errors, []);
});

test('a run with faults clicked, and a five-minute run with faults, keep every property', async () => {
  const page = await open(browser, server, { speed: '1' });
  let leader = await waitForLeader(page);
  await nodeAction(page, leader.id, 'crash');
  leader = await waitForLeader(page, { higherThan: leader.term });
  await page.keyboard.press('r');
  await page.click(`[data-testid="link-${Math.min(1, 2)}-2"]`);
  await page.waitForTimeout(1500);
  await page.click('[data-testid="heal-all"]');
  await waitForLeader(page);
  assert.equal(await state(page, 'safety'), 'ok');
  // Five virtual minutes: crashes, restarts, cuts and heals, chat through
  // every node, opened as a recorded run (checked event by event).
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-run"]')]);
  const { config } = JSON.parse(await readFile(await download.path(), 'utf8'));
  const steps = [];
  const seq = [0, 0, 0, 0, 0, 0];
  for (let at = 2_000; at < 300_000; at += 1_000) {
    const node = (at / 1000) % 5 + 1;
    if (at % 20_000 === 0) steps.push({ at_ms: at, do: { crash: node } });
    else if (at % 20_000 === 7_000 && at > 20_000) steps.push({ at_ms: at, do: { restart: ((at - 7_000) / 1000) % 5 + 1 } });
    else if (at % 30_000 === 11_000) steps.push({ at_ms: at, do: { isolate: node } });
    else if (at % 30_000 === 19_000) steps.push({ at_ms: at, do: 'heal_all' });
    else {
      seq[node] += 1;
      steps.push({ at_ms: at, do: { send: { node, client: node, seq: seq[node], author: 'class', text: `message ${at / 1000}` } } });
    }
  }
  await importRun(page, { version: 1, config, steps, end_ms: 300_000, at_ms: 300_000 }, 'five-minutes.json');
  assert.equal(await state(page, 'safety'), 'ok', JSON.stringify(await rows(page)));
  await screenshot(page, 'safety-five-minutes');
  assert.deepEqual(page.errors, []);
});

test('a run whose broken rule shut every server down says so, and a rewind brings the cluster back', async () => {
  // Recorded by core/tests/user_actions.rs (a session with rules broken, seed 9404,
  // cut down to the steps that still end there): replicas that disagreed on which
  // configuration committed had each server removed and shut down in turn.
  const recipe = JSON.parse(await readFile(new URL('./fixtures/no-server-left.json', import.meta.url), 'utf8'));
  const page = await open(browser, server);
  await waitForLeader(page);
  await importRun(page, recipe, 'no-server-left.json');
  assert.equal(await page.$$eval('g[data-testid^="node-"]', (n) => n.length), 0,
    'the fixture no longer ends with every server shut down: record it again (the core changed how it replays)');
  assert.equal(await state(page, 'safety'), 'violated');
  assert.match(await page.textContent('[data-testid="leader"]'), /^No server left$/);
  assert.match(await page.textContent('[data-testid="no-server"]'), /No server is left\..*Rewind on the timeline, or start a New run\./);
  assert.equal(await page.getAttribute('[data-testid="cluster"]', 'aria-label'), 'the cluster: no server is left');
  await screenshot(page, 'no-server-left');
  // Rewound to the first second, the servers are back and the note is gone.
  await page.$eval('[data-testid="timeline"]', (el) => { el.value = '1000'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => document.querySelectorAll('g[data-testid^="node-"]').length > 0, null, { timeout: 10_000 });
  assert.equal(await page.$('[data-testid="no-server"]'), null);
  assert.doesNotMatch(await page.textContent('[data-testid="leader"]'), /No server/);
  assert.deepEqual(page.errors, []);
});
