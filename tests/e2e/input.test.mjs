// Bad input never breaks the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot, waitForLeader, open, chatTexts } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('nonsense in the seed field gets a clear message and the run goes on', async () => {
  const page = await open(browser, server);
  for (const bad of ['banana', '-1', '1e5', '99999999999999999999999', '']) {
    await page.fill('[data-testid="seed"]', bad);
    await page.click('[data-testid="reset"]');
    assert.match(await page.textContent('[data-testid="seed-error"]'), /seed/, `for ${JSON.stringify(bad)}`);
  }
  await waitForLeader(page);
  await screenshot(page, 'bad-seed');
  assert.deepEqual(page.errors, []);
});

test('empty, too long and HTML messages are handled, and nothing typed is lost', async () => {
  const page = await open(browser, server);
  const leader = await waitForLeader(page);
  const input = `[data-testid="chat-input-${leader.id}"]`;
  await page.fill(input, '   ');
  await page.press(input, 'Enter');
  assert.match(await page.textContent(`[data-testid="chat-status-${leader.id}"]`), /empty/);
  const long = 'x'.repeat(600);
  await page.fill(input, long);
  assert.match(await page.textContent(`[data-testid="chat-pane-${leader.id}"]`), /600\/500 characters/);
  await page.press(input, 'Enter');
  assert.equal(await page.inputValue(input), long, 'the text stays in the input');
  assert.match(await page.textContent(`[data-testid="chat-status-${leader.id}"]`), /limit is 500/);
  const html = '<img src=x onerror="window.pwned=1"><b>bold</b>';
  await page.fill(input, html);
  await page.press(input, 'Enter');
  await page.waitForFunction(([id]) => document.querySelectorAll(`[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`).length > 0, [leader.id]);
  assert.deepEqual(await chatTexts(page, leader.id), [`student: ${html}`]);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.$$eval(`[data-testid="chat-pane-${leader.id}"] img`, (i) => i.length), 0);
  await screenshot(page, 'bad-input');
  assert.deepEqual(page.errors, []);
});

test('a new run from the same seed replays the same elections', async () => {
  const page = await open(browser, server);
  const run = async () => {
    await page.fill('[data-testid="seed"]', '2024');
    await page.click('[data-testid="reset"]');
    // The saved cluster is replaced (the harness accepts the question): the new
    // one starts once its database is open, and steps wait until then.
    await page.waitForSelector('[data-testid="storage"][data-state="opening"]');
    await page.waitForSelector('[data-testid="storage"][data-state="saved"]');
    await page.click('[data-testid="play-pause"]'); // pause, then step deterministically
    for (let i = 0; i < 400; i++) await page.keyboard.press('ArrowRight');
    return page.evaluate(() => [...document.querySelectorAll('g[data-testid^="node-"]')].map((e) => `${e.dataset.role}:${e.dataset.term}`).join(' ')
      + ' | ' + document.querySelector('[data-testid="feed"]').textContent);
  };
  const a = await run();
  const b = await run();
  assert.equal(a, b);
  assert.match(a, /leader/);
  await screenshot(page, 'replayed-seed');
});

test('the keyboard help opens with ? and closes with Escape', async () => {
  const page = await open(browser, server);
  await page.keyboard.press('?');
  await page.waitForSelector('[data-testid="help"]');
  await screenshot(page, 'keyboard-help');
  assert.match(await page.textContent('[data-testid="help"]'), /pause \/ resume/);
  await page.keyboard.press('Escape');
  assert.equal(await page.$('[data-testid="help"]'), null);
  // Space pauses; c crashes the leader.
  const leader = await waitForLeader(page);
  await page.keyboard.press('c');
  await page.waitForSelector(`g[data-testid="node-${leader.id}"][data-down="true"]`);
  await page.keyboard.press(' ');
  await page.waitForSelector('[data-testid="clock"][data-state="paused"]');
});
