// The served page runs a simulated cluster that elects a leader.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const nodes = (page) => page.$$eval('[data-testid^="node-"]', (els) => els.map((e) => ({
  id: e.dataset.testid, role: e.dataset.role, term: Number(e.dataset.term), down: e.dataset.down === 'true',
})));

test('the page elects a leader, and a new one in a higher term after the leader crashes', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url);
  await page.waitForFunction(() => document.querySelectorAll('[data-role="leader"]').length === 1, null, { timeout: 20_000 });
  const first = (await nodes(page)).find((n) => n.role === 'leader');
  assert.equal((await nodes(page)).length, 5);
  assert.ok(first.term >= 1);
  assert.match(await page.textContent('[data-testid="leader"]'), /Leader: node \d in term \d+/);
  await screenshot(page, 'leader-elected');

  // Crash the leader by clicking: the others elect a new leader in a higher term.
  const id = first.id.replace('node-', '');
  await page.click(`[data-testid="toggle-${id}"]`);
  await page.waitForFunction((old) => [...document.querySelectorAll('[data-role="leader"]')]
    .some((e) => e.dataset.down === 'false' && Number(e.dataset.term) > old), first.term, { timeout: 30_000 });
  const after = await nodes(page);
  assert.equal(after.find((n) => n.id === first.id).down, true);
  await screenshot(page, 'new-leader');
  assert.deepEqual(errors, []);
});

test('a seed that is not a number gets a clear message and the run goes on', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.fill('[data-testid="seed"]', 'banana');
  await page.click('button[type="submit"]');
  assert.match(await page.textContent('[role="alert"].error'), /not a seed/);
  await page.waitForSelector('[data-role="leader"]', { timeout: 20_000 });
});

test('pause stops the clock', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('[data-role="leader"]', { timeout: 20_000 });
  await page.click('[data-testid="play-pause"]');
  const clock = await page.textContent('.clock');
  await page.waitForTimeout(1_000);
  assert.equal(await page.textContent('.clock'), clock);
});
